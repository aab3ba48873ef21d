/**
 * Rekor's signed entry timestamp (SET), as cosign attaches it to a signature
 * (`dev.sigstore.cosign/bundle`: `{SignedEntryTimestamp, Payload: {body, integratedTime, logIndex,
 * logID}}`): Rekor's signature over the canonical JSON of `Payload`. A SET proves the entry was
 * logged at `integratedTime`; moat also checks that the logged entry is this signature (its
 * hashedrekord body names the payload's sha256 and the same signature bytes).
 */
import { createHash } from 'node:crypto';
import { decodeBase64, verifyWith, type PublicKey } from '../key/public-key.js';

export interface SetCheck {
  ok: boolean;
  reason?: string;
  integratedTime?: number;
  logId?: string;
  logIndex?: number;
  /** The key that signed it. */
  keyId?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Canonical JSON (RFC 8785 for the values a SET payload holds: sorted keys, no spaces). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The log ID Rekor gives itself: the sha256 of its public key's DER, in hex. */
export const logIdOf = (k: PublicKey) => k.id.slice('sha256:'.length);

/**
 * Verifies the SET in `bundleText` for a signature `sig` over `payload`, with one of `rekorKeys`.
 * `signer` (the key or certificate that made the signature) is not checked against the entry:
 * the signature bytes and payload hash identify it.
 */
export function verifySet(
  bundleText: string,
  payload: Buffer,
  sig: Buffer,
  rekorKeys: PublicKey[],
): SetCheck {
  let b: unknown;
  try {
    b = JSON.parse(bundleText);
  } catch {
    return { ok: false, reason: 'the transparency-log bundle is not valid JSON' };
  }
  if (!isObject(b) || typeof b.SignedEntryTimestamp !== 'string' || !isObject(b.Payload))
    return { ok: false, reason: 'the transparency-log bundle has no SignedEntryTimestamp or Payload' };
  const p = b.Payload;
  if (
    typeof p.body !== 'string' ||
    !Number.isSafeInteger(p.integratedTime) ||
    !Number.isSafeInteger(p.logIndex) ||
    typeof p.logID !== 'string'
  )
    return { ok: false, reason: 'the transparency-log entry is malformed' };
  const logId = p.logID;
  const key = rekorKeys.find((k) => logIdOf(k) === logId);
  if (!key)
    return {
      ok: false,
      reason: `the transparency-log entry is from an unknown log (${logId.slice(0, 16)}…)`,
    };
  let setSig: Buffer;
  try {
    setSig = decodeBase64(b.SignedEntryTimestamp, 'SignedEntryTimestamp', 4096);
  } catch {
    return { ok: false, reason: 'the SignedEntryTimestamp is not valid base64' };
  }
  const signed = Buffer.from(
    canonicalJson({ body: p.body, integratedTime: p.integratedTime, logID: p.logID, logIndex: p.logIndex }),
  );
  if (!verifyWith(key, signed, setSig))
    return { ok: false, reason: "the SignedEntryTimestamp is not the log's signature" };
  // The entry must be this signature: hashedrekord {spec: {data: {hash: {algorithm, value}}, signature: {content}}}.
  let body: unknown;
  try {
    body = JSON.parse(decodeBase64(p.body, 'tlog body', 1 << 20).toString('utf8'));
  } catch {
    return { ok: false, reason: 'the transparency-log entry body is not valid base64 JSON' };
  }
  const spec = isObject(body) && isObject(body.spec) ? body.spec : undefined;
  const hash = spec && isObject(spec.data) && isObject(spec.data.hash) ? spec.data.hash : undefined;
  const content = spec && isObject(spec.signature) ? spec.signature.content : undefined;
  if (!hash || hash.algorithm !== 'sha256' || typeof content !== 'string')
    return { ok: false, reason: 'the transparency-log entry is not a sha256 hashedrekord entry' };
  if (hash.value !== createHash('sha256').update(payload).digest('hex'))
    return { ok: false, reason: 'the transparency-log entry is for another payload' };
  let logged: Buffer;
  try {
    logged = decodeBase64(content, 'logged signature', 64 * 1024);
  } catch {
    return { ok: false, reason: 'the logged signature is not valid base64' };
  }
  if (!logged.equals(sig))
    return { ok: false, reason: 'the transparency-log entry is for another signature' };
  return {
    ok: true,
    integratedTime: p.integratedTime as number,
    logId,
    logIndex: p.logIndex as number,
    keyId: key.id,
  };
}
