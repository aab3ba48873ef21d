/**
 * JSON schemas of the image-trust routes' bodies (trust-routes.ts): verify, sign, attest, trust
 * show, key generate. References and key paths are bounded; key and predicate paths are absolute
 * host paths (facts.host_paths), seen by the policy before anything is read.
 */
const tlsVerify = { type: 'boolean' } as const;

export const verifyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reference'],
  properties: {
    reference: { type: 'string', minLength: 1, maxLength: 1024 },
    tlsVerify,
  },
} as const;
export const signBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reference', 'key'],
  properties: {
    reference: { type: 'string', minLength: 1, maxLength: 1024 },
    key: { type: 'string', pattern: '^/' },
    password: { type: 'string', maxLength: 4096 },
    annotations: {
      type: 'object',
      maxProperties: 64,
      additionalProperties: { type: 'string', maxLength: 4096 },
    },
    /** Attach a sigstore bundle as an OCI referrer instead of a cosign `.sig` signature. */
    bundle: { type: 'boolean', default: false },
    tlsVerify,
  },
} as const;
export const attestBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reference', 'key', 'predicate', 'type'],
  properties: {
    reference: { type: 'string', minLength: 1, maxLength: 1024 },
    key: { type: 'string', pattern: '^/' },
    password: { type: 'string', maxLength: 4096 },
    /** The predicate file (a host path: facts.host_paths). */
    predicate: { type: 'string', pattern: '^/', maxLength: 4096 },
    /** cosign attest's --type name, or a predicate type URI. */
    type: { type: 'string', minLength: 1, maxLength: 1024 },
    tlsVerify,
  },
} as const;
export const trustShowBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reference'],
  properties: { reference: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;
export const keyGenerateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['prefix'],
  properties: {
    prefix: { type: 'string', pattern: '^/', maxLength: 4096 },
    password: { type: 'string', maxLength: 4096 },
  },
} as const;
