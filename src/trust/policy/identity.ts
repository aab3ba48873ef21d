/**
 * signedIdentity: whether the image name a signature claims (its payload's
 * `critical.identity.docker-reference`) is acceptable for the reference being verified. Names are
 * compared parsed and normalised (`docker.io/busybox` is `docker.io/library/busybox`), never as
 * patterns: an identity that merely contains the allowed one does not match.
 */
import { parseReference, repositoryOf, type ImageReference } from '../../image/reference.js';
import type { SignedIdentity } from './types.js';

function normalized(r: ImageReference): ImageReference {
  let host = r.host;
  let path = r.path;
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { ...r, host, path };
}

/** A reference as the signature's identity may give it (fully qualified, or Docker Hub's short form). */
export function parseIdentity(s: string): ImageReference | undefined {
  try {
    const r = parseReference(s);
    return normalized(r.host ? r : { ...r, host: 'docker.io' });
  } catch {
    return undefined;
  }
}

const nameOf = (r: ImageReference) => repositoryOf(normalized(r));
const full = (r: ImageReference) => nameOf(r) + (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');

/** The reference being verified is by digest only (no tag): then the repository is what counts. */
const byDigest = (r: ImageReference) => r.digest !== undefined && r.tag === undefined;

function repoDigestOrExact(intended: ImageReference, signed: ImageReference): boolean {
  if (byDigest(intended)) return nameOf(signed) === nameOf(intended);
  return full(signed) === full({ ...intended, digest: undefined });
}

/** Rewrites a name starting with `prefix` (at a component boundary) to start with `to`. */
function remap(name: string, prefix: string, to: string): string | undefined {
  if (name === prefix) return to;
  if (name.startsWith(prefix) && /^[/:@]/.test(name.slice(prefix.length)))
    return to + name.slice(prefix.length);
  return undefined;
}

/**
 * Does a signature claiming `signed` cover the image verified as `intended`? (`intended`'s digest,
 * when it has one, was checked against the payload's digest separately.)
 */
export function identityMatches(id: SignedIdentity, intended: ImageReference, signedText: string): boolean {
  const signed = parseIdentity(signedText);
  if (!signed) return false;
  switch (id.type) {
    case 'matchExact':
      return full(signed) === full(intended);
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed);
    case 'matchRepository':
      return nameOf(signed) === nameOf(intended);
    case 'exactReference': {
      const want = parseIdentity(id.dockerReference);
      return want !== undefined && full(signed) === full(want);
    }
    case 'exactRepository': {
      const want = parseIdentity(id.dockerRepository);
      return want !== undefined && nameOf(signed) === nameOf(want);
    }
    case 'remapIdentity': {
      const mapped = remap(full(intended), id.prefix, id.signedPrefix);
      if (mapped === undefined) return repoDigestOrExact(intended, signed);
      const m = parseIdentity(mapped);
      return m !== undefined && repoDigestOrExact(m, signed);
    }
  }
}

/** A sentence for reports: what the identity rule wanted. */
export function describeIdentity(id: SignedIdentity, intended: ImageReference): string {
  switch (id.type) {
    case 'matchExact':
      return `exactly ${full(intended)}`;
    case 'matchRepoDigestOrExact':
      return byDigest(intended)
        ? `repository ${nameOf(intended)}`
        : `exactly ${full({ ...intended, digest: undefined })}`;
    case 'matchRepository':
      return `repository ${nameOf(intended)}`;
    case 'exactReference':
      return `exactly ${id.dockerReference}`;
    case 'exactRepository':
      return `repository ${id.dockerRepository}`;
    case 'remapIdentity':
      return `${full(intended)} with ${id.prefix} read as ${id.signedPrefix}`;
  }
}
