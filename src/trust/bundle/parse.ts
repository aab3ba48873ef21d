/**
 * Reading a sigstore bundle (media types v0.1, v0.2, v0.3 and v0.3's older spelling): bounded,
 * strict JSON, a known media type, then `@sigstore/bundle`'s structural checks for that version.
 * Anything malformed is TRUST_SIGNATURE_INVALID with the reason.
 */
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  ValidationError,
  assertBundleLatest,
  assertBundleV01,
  assertBundleV02,
  bundleFromJSON,
  type Bundle,
} from '@sigstore/bundle';
import { TrustError } from '../errors.js';

export const BUNDLE_MEDIA_TYPES = [
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
];

/** The largest bundle moat reads (one with a long certificate chain and DSSE payload is ~10 KB). */
export const MAX_BUNDLE_BYTES = 4 << 20;

function bad(why: string): TrustError {
  return new TrustError('TRUST_SIGNATURE_INVALID', `sigstore bundle: ${why}`);
}

export function parseBundle(text: string | Buffer): Bundle {
  if (text.length > MAX_BUNDLE_BYTES) throw bad(`larger than ${MAX_BUNDLE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    throw bad('not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.includes(mediaType))
    throw bad(`unknown media type ${JSON.stringify(mediaType)} (known: ${BUNDLE_MEDIA_TYPES.join(', ')})`);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
    // Each version's required fields: v0.1 an inclusion promise, v0.2 an inclusion proof, v0.3 a
    // single certificate or key.
    if (mediaType === BUNDLE_V01_MEDIA_TYPE) assertBundleV01(bundle);
    else if (mediaType === BUNDLE_V02_MEDIA_TYPE) assertBundleV02(bundle);
    else assertBundleLatest(bundle);
  } catch (e) {
    const fields = e instanceof ValidationError && e.fields?.length ? ` (${e.fields.join(', ')})` : '';
    throw bad(`${(e as Error).message}${fields}`);
  }
  return bundle;
}
