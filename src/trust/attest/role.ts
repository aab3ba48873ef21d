/**
 * What a referrer bundle is, read from its (not yet verified) content only to choose how it is
 * verified. Kept apart from attest/verify.ts so that sorting referrers loads no sigstore library.
 */
import { INTOTO_PAYLOAD_TYPE } from '../bundle/intoto.js';
import { SIGN_PREDICATE_TYPE } from './statement.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `attestation` for a DSSE in-toto statement of another predicate type than a
 * signature's, else `signature`. Malformed bundles are `signature`s (verification says why).
 */
export function bundleRole(bytes: Buffer): 'signature' | 'attestation' {
  try {
    const b: unknown = JSON.parse(bytes.toString('utf8'));
    const env = isObject(b) ? b.dsseEnvelope : undefined;
    if (!isObject(env) || env.payloadType !== INTOTO_PAYLOAD_TYPE || typeof env.payload !== 'string')
      return 'signature';
    const st: unknown = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    return isObject(st) && typeof st.predicateType === 'string' && st.predicateType !== SIGN_PREDICATE_TYPE
      ? 'attestation'
      : 'signature';
  } catch {
    return 'signature';
  }
}
