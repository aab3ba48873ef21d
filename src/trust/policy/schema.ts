/**
 * The JSON schema of a trust policy file, strict: an unknown field or requirement type is an
 * error naming it. The type tag selects the requirement's schema (ajv's discriminator), so an
 * error speaks of the requirement that was meant rather than of every alternative.
 */
import { lazyValidator } from '../../util/schema.js';

const str = { type: 'string', minLength: 1 };
const strs = { type: 'array', items: str, minItems: 1 };

const identity = {
  type: 'object',
  properties: { type: { type: 'string' } },
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    { properties: { type: { const: 'matchExact' } }, additionalProperties: false },
    { properties: { type: { const: 'matchRepoDigestOrExact' } }, additionalProperties: false },
    { properties: { type: { const: 'matchRepository' } }, additionalProperties: false },
    {
      properties: { type: { const: 'exactReference' }, dockerReference: str },
      required: ['dockerReference'],
      additionalProperties: false,
    },
    {
      properties: { type: { const: 'exactRepository' }, dockerRepository: str },
      required: ['dockerRepository'],
      additionalProperties: false,
    },
    {
      properties: { type: { const: 'remapIdentity' }, prefix: str, signedPrefix: str },
      required: ['prefix', 'signedPrefix'],
      additionalProperties: false,
    },
  ],
};

const requirement = {
  type: 'object',
  properties: { type: { type: 'string' } },
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    { properties: { type: { const: 'insecureAcceptAnything' } }, additionalProperties: false },
    { properties: { type: { const: 'reject' } }, additionalProperties: false },
    {
      properties: {
        type: { const: 'sigstoreSigned' },
        keyPath: str,
        keyPaths: strs,
        keyData: str,
        keyDatas: strs,
        fulcio: {
          type: 'object',
          properties: { caPath: str, caData: str, oidcIssuer: str, subjectEmail: str },
          required: ['oidcIssuer', 'subjectEmail'],
          additionalProperties: false,
        },
        rekorPublicKeyPath: str,
        rekorPublicKeyPaths: strs,
        rekorPublicKeyData: str,
        rekorPublicKeyDatas: strs,
        trustedRoot: str,
        signedIdentity: identity,
      },
      additionalProperties: false,
    },
  ],
};

const requirements = { type: 'array', items: requirement };

export const POLICY_SCHEMA = {
  type: 'object',
  required: ['default'],
  properties: {
    default: requirements,
    transports: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: requirements },
    },
  },
  additionalProperties: false,
};

export const validatePolicyFile = lazyValidator('trust:policy', POLICY_SCHEMA, {
  discriminator: true,
  allErrors: false,
});

/** Registers the validator for the build step that writes standalone validators. */
export function registerValidators(): void {
  /* importing this module registered it */
}
