/**
 * The sigstore public-good trusted root, offline: `@sigstore/tuf` ships the TUF repository's
 * targets in its package (`seeds.json`, base64 per target), including `trusted_root.json`. moat
 * reads it from there and never downloads: an air-gapped host verifies public-good signatures
 * with what npm installed. The root is as fresh as the installed `@sigstore/tuf`; a newer one can
 * be given as a file (`trustedRoot` in the policy, `--trusted-root`).
 *
 * The TUF signatures are not checked here (seeds.json carries no targets metadata to check them
 * against): the file is trusted as part of the installed package, like moat's own code.
 */
import { createRequire } from 'node:module';
import { TrustError } from '../errors.js';
import { decodeBase64 } from '../key/public-key.js';
import { readBounded } from '../policy/load.js';
import { parseTrustedRoot, type TrustRoot } from './load.js';

export const PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';
const MAX_SEEDS_BYTES = 4 << 20;

let cached: TrustRoot | undefined;

function unavailable(why: string): TrustError {
  return new TrustError(
    'TRUST_POLICY_INVALID',
    `the public-good trusted root (from @sigstore/tuf's seeds.json) is not available: ${why}`,
    { hint: 'give a trusted root file (trustedRoot in the trust policy, or --trusted-root FILE)' },
  );
}

/** Extracts `trusted_root.json` for the public-good instance from a seeds.json text. */
export function rootFromSeeds(text: string, what = 'public-good (@sigstore/tuf seeds.json)'): TrustRoot {
  let seeds: unknown;
  try {
    seeds = JSON.parse(text);
  } catch {
    throw unavailable('seeds.json is not valid JSON');
  }
  const repo = (seeds as Record<string, { targets?: Record<string, unknown> } | undefined>)[
    PUBLIC_GOOD_TUF_URL
  ];
  const target = repo?.targets?.['trusted_root.json'];
  if (typeof target !== 'string')
    throw unavailable(`seeds.json has no trusted_root.json for ${PUBLIC_GOOD_TUF_URL}`);
  let bytes: Buffer;
  try {
    bytes = decodeBase64(target, 'trusted_root.json', 1 << 20);
  } catch {
    throw unavailable('its trusted_root.json is not valid base64');
  }
  return parseTrustedRoot(bytes, what);
}

/** The public-good trusted root, read once per process. */
export function publicGoodRoot(): TrustRoot {
  if (cached) return cached;
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve('@sigstore/tuf/seeds.json');
  } catch {
    throw unavailable('@sigstore/tuf is not installed');
  }
  let bytes: Buffer | undefined;
  try {
    bytes = readBounded(file, MAX_SEEDS_BYTES);
  } catch (e) {
    throw unavailable((e as Error).message);
  }
  if (!bytes) throw unavailable(`${file} is missing`);
  cached = { ...rootFromSeeds(bytes.toString('utf8')), source: 'public-good' };
  return cached;
}
