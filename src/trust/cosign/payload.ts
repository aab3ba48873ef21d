/**
 * The payload cosign signs for an image ("simple signing", containers/image's sigstore format):
 * `{critical: {identity: {docker-reference}, image: {docker-manifest-digest}, type: "cosign
 * container image signature"}, optional: {...}}`. Parsed strictly, as containers/image does: an
 * unknown field under `critical` or a wrong type rejects the signature.
 */
import { TrustError } from '../errors.js';

export const PAYLOAD_TYPE = 'cosign container image signature';
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The largest payload moat parses (cosign's are a few hundred bytes). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export interface Payload {
  dockerReference: string;
  manifestDigest: string;
  optional?: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(why: string): TrustError {
  return new TrustError('TRUST_SIGNATURE_INVALID', `signature payload: ${why}`);
}

function only(o: Record<string, unknown>, keys: string[], where: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`unknown field ${where}.${k}`);
  for (const k of keys) if (!(k in o)) throw bad(`missing field ${where}.${k}`);
}

export function parsePayload(bytes: Buffer): Payload {
  if (bytes.length > MAX_PAYLOAD_BYTES) throw bad(`larger than ${MAX_PAYLOAD_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not valid JSON');
  }
  if (!isObject(v)) throw bad('not a JSON object');
  for (const k of Object.keys(v)) if (k !== 'critical' && k !== 'optional') throw bad(`unknown field ${k}`);
  const c = v.critical;
  if (!isObject(c)) throw bad('missing field critical');
  only(c, ['identity', 'image', 'type'], 'critical');
  if (c.type !== PAYLOAD_TYPE)
    throw bad(`type is ${JSON.stringify(c.type)}, not ${JSON.stringify(PAYLOAD_TYPE)}`);
  if (!isObject(c.identity)) throw bad('critical.identity is not an object');
  only(c.identity, ['docker-reference'], 'critical.identity');
  if (!isObject(c.image)) throw bad('critical.image is not an object');
  only(c.image, ['docker-manifest-digest'], 'critical.image');
  const ref = c.identity['docker-reference'];
  const digest = c.image['docker-manifest-digest'];
  if (typeof ref !== 'string') throw bad('critical.identity.docker-reference is not a string');
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw bad('critical.image.docker-manifest-digest is not a sha256 digest');
  if (v.optional !== undefined && v.optional !== null && !isObject(v.optional))
    throw bad('optional is not an object');
  return {
    dockerReference: ref,
    manifestDigest: digest,
    ...(isObject(v.optional) ? { optional: v.optional } : {}),
  };
}

/** The payload moat signs (the same shape `cosign sign` writes; key order fixed). */
export function makePayload(
  dockerReference: string,
  manifestDigest: string,
  optional?: Record<string, unknown>,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: PAYLOAD_TYPE,
      },
      optional: optional ?? null,
    }),
  );
}
