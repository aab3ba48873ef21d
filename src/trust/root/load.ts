/**
 * Reading a sigstore trusted root: a `trusted_root.json` file (bounded, validated by moat, then
 * parsed into the protobuf-specs type `@sigstore/verify` takes), or the same JSON built in memory.
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { TrustError } from '../errors.js';
import { readBounded } from '../policy/load.js';
import { validateTrustedRoot } from './validate.js';

/** The largest trusted root moat reads (the public-good root is about 7 KB). */
export const MAX_TRUSTED_ROOT_BYTES = 1 << 20;

export interface TrustRoot {
  /** Where it came from: a file, `policy` (built from a policy's CA and Rekor keys), `public-good`. */
  source: string;
  root: TrustedRoot;
  /** The checked JSON it was parsed from (to build other roots from its parts). */
  json: TrustedRootJson;
}

/** The JSON form of a trusted root, as far as moat reads it. */
export interface TrustedRootJson {
  mediaType: string;
  tlogs: unknown[];
  ctlogs?: unknown[];
  certificateAuthorities?: unknown[];
  timestampAuthorities?: unknown[];
}

/** Parses and checks the JSON text of a trusted root; `what` names it in errors. */
export function parseTrustedRoot(text: string | Buffer, what: string): TrustRoot {
  if (text.length > MAX_TRUSTED_ROOT_BYTES)
    throw new TrustError(
      'TRUST_POLICY_INVALID',
      `trusted root ${what}: larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`,
    );
  let json: unknown;
  try {
    json = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch (e) {
    throw new TrustError(
      'TRUST_POLICY_INVALID',
      `trusted root ${what}: not valid JSON (${(e as Error).message})`,
    );
  }
  return fromJson(json, what);
}

/** Checks a trusted root already parsed from JSON (or built in memory). */
export function fromJson(json: unknown, what: string): TrustRoot {
  validateTrustedRoot(json, what);
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (e) {
    throw new TrustError('TRUST_POLICY_INVALID', `trusted root ${what}: ${(e as Error).message}`);
  }
  return { source: what, root, json: json as TrustedRootJson };
}

/** Reads a `trusted_root.json` file. */
export function loadTrustedRoot(file: string): TrustRoot {
  let bytes: Buffer | undefined;
  try {
    bytes = readBounded(file, MAX_TRUSTED_ROOT_BYTES);
  } catch (e) {
    throw new TrustError('TRUST_POLICY_INVALID', `trusted root ${file}: ${(e as Error).message}`);
  }
  if (!bytes) throw new TrustError('TRUST_POLICY_INVALID', `trusted root ${file}: no such file`);
  return parseTrustedRoot(bytes, file);
}
