/**
 * DSSE envelopes (`application/vnd.dsse.envelope.v1+json`), as `cosign attest` stores them in the
 * layers of an image's `.att` attachment: `{payloadType, payload (base64), signatures: [{keyid,
 * sig (base64)}]}`, each signature over the pre-authentication encoding PAE(payloadType,
 * payload). Parsed strictly and bounded; what the payload says is read only once a signature
 * over it verified (attest/verify.ts).
 */
import { decodeBase64 } from '../key/public-key.js';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** The largest envelope moat reads (an SBOM can be large; the predicate handed on is capped apart). */
export const MAX_ENVELOPE_BYTES = 4 << 20;
/** Signatures read per envelope. */
export const MAX_ENVELOPE_SIGNATURES = 8;

/** DSSE pre-authentication encoding: what each signature signs. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

export interface Envelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a DSSE envelope; throws an Error saying what is wrong. */
export function parseEnvelope(bytes: Buffer | string): Envelope {
  if (bytes.length > MAX_ENVELOPE_BYTES)
    throw new Error(`the DSSE envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    throw new Error('the DSSE envelope is not valid JSON');
  }
  if (!isObject(v)) throw new Error('the DSSE envelope is not a JSON object');
  if (typeof v.payloadType !== 'string' || v.payloadType === '' || v.payloadType.length > 256)
    throw new Error('the DSSE envelope has no payloadType');
  if (typeof v.payload !== 'string' || v.payload === '') throw new Error('the DSSE envelope has no payload');
  let payload: Buffer;
  try {
    payload = decodeBase64(v.payload, 'DSSE payload', MAX_ENVELOPE_BYTES);
  } catch {
    throw new Error('the DSSE payload is not valid base64');
  }
  if (!Array.isArray(v.signatures) || v.signatures.length === 0)
    throw new Error('the DSSE envelope has no signatures');
  if (v.signatures.length > MAX_ENVELOPE_SIGNATURES)
    throw new Error(
      `the DSSE envelope has ${v.signatures.length} signatures; moat reads at most ${MAX_ENVELOPE_SIGNATURES}`,
    );
  const signatures = v.signatures.map((s: unknown, i: number) => {
    if (!isObject(s) || typeof s.sig !== 'string' || s.sig === '')
      throw new Error(`DSSE signature ${i + 1} has no sig`);
    if (s.keyid !== undefined && typeof s.keyid !== 'string')
      throw new Error(`DSSE signature ${i + 1} has a keyid that is not a string`);
    let sig: Buffer;
    try {
      sig = decodeBase64(s.sig, 'DSSE signature', 64 * 1024);
    } catch {
      throw new Error(`DSSE signature ${i + 1} is not valid base64`);
    }
    return { keyid: typeof s.keyid === 'string' ? s.keyid : '', sig };
  });
  return { payloadType: v.payloadType, payload, signatures };
}

/** The JSON form of an envelope (what `moat attest` stores as the layer blob). */
export function envelopeJson(e: Envelope): Buffer {
  return Buffer.from(
    JSON.stringify({
      payloadType: e.payloadType,
      payload: e.payload.toString('base64'),
      signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
    }),
  );
}
