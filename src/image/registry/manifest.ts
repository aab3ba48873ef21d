/**
 * What a manifest endpoint returned, judged from its bytes: verified against the digest it was
 * asked by (or, for a tag, the digest computed from the bytes — a `Docker-Content-Digest` header
 * that disagrees is an error, never a substitute), classified by media type, schema 1 refused.
 * Pure functions; the fetching is in pull.ts.
 */
import { sha256Digest } from '../digest.js';
import { ImageError } from '../errors.js';
import {
  checkIndex,
  checkManifest,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  parseJson,
  platformScore,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from '../types.js';

export const SCHEMA1_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

/** What moat asks the manifest endpoint for (schema 1 included, only to refuse it clearly). */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
  ...SCHEMA1_MEDIA_TYPES,
].join(', ');

export type FetchedManifest =
  | { kind: 'manifest'; digest: string; bytes: Buffer; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; digest: string; bytes: Buffer; mediaType: string; index: ImageIndex };

/**
 * Verify and classify manifest bytes. `requested` is the digest it was fetched by (undefined
 * for a tag); `headerDigest` is `Docker-Content-Digest`, `contentType` the response's type.
 */
export function judgeManifest(
  bytes: Buffer,
  opts: { requested?: string; headerDigest?: string; contentType?: string; what: string },
): FetchedManifest {
  const digest = sha256Digest(bytes);
  if (opts.requested && digest !== opts.requested) {
    throw new ImageError(
      'IMAGE_DIGEST_MISMATCH',
      `${opts.what} hashes to ${digest}, not the requested ${opts.requested}`,
      { details: { expected: opts.requested, actual: digest } },
    );
  }
  if (opts.headerDigest && /^sha256:/.test(opts.headerDigest) && opts.headerDigest !== digest) {
    throw new ImageError(
      'IMAGE_DIGEST_MISMATCH',
      `${opts.what} hashes to ${digest}, but the registry announced ${opts.headerDigest}`,
      { details: { expected: opts.headerDigest, actual: digest } },
    );
  }
  const ct = (opts.contentType ?? '').split(';')[0].trim().toLowerCase();
  if (SCHEMA1_MEDIA_TYPES.includes(ct)) throw schema1(opts.what);
  const value = parseJson(bytes, 'IMAGE_INVALID_MANIFEST', opts.what);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ImageError('IMAGE_INVALID_MANIFEST', `${opts.what} is not a JSON object`);
  const v = value as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown; config?: unknown };
  if (v.schemaVersion === 1 || (typeof v.mediaType === 'string' && SCHEMA1_MEDIA_TYPES.includes(v.mediaType)))
    throw schema1(opts.what);
  // The body's mediaType wins; else the Content-Type; else the shape.
  const declared = typeof v.mediaType === 'string' ? v.mediaType : undefined;
  const mediaType =
    declared ??
    ([...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES].includes(ct)
      ? ct
      : Array.isArray(v.manifests)
        ? MediaType.OciIndex
        : MediaType.OciManifest);
  if (declared && ct && ct !== declared && [...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES].includes(ct)) {
    throw new ImageError(
      'IMAGE_INVALID_MANIFEST',
      `${opts.what} says it is ${declared} but was served as ${ct}`,
    );
  }
  if (INDEX_MEDIA_TYPES.includes(mediaType))
    return { kind: 'index', digest, bytes, mediaType, index: checkIndex(value, opts.what) };
  if (MANIFEST_MEDIA_TYPES.includes(mediaType))
    return { kind: 'manifest', digest, bytes, mediaType, manifest: checkManifest(value, opts.what) };
  throw new ImageError('IMAGE_UNSUPPORTED_MEDIA_TYPE', `${opts.what} has media type ${mediaType}`, {
    hint: `moat pulls ${[...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES].join(', ')}`,
    details: { mediaType },
  });
}

function schema1(what: string): ImageError {
  return new ImageError(
    'IMAGE_SCHEMA1_UNSUPPORTED',
    `${what} is a Docker schema 1 manifest, which moat does not pull`,
    {
      hint: 'schema 1 is deprecated and not content-addressed; push the image again with a current client (docker, podman, skopeo) to get a schema 2 or OCI manifest',
    },
  );
}

/** The entry of an index for `wanted` (exact variant first), or IMAGE_PLATFORM_NOT_FOUND. */
export function choosePlatform(index: ImageIndex, wanted: Platform, what = 'index'): Descriptor {
  const scored = index.manifests
    .filter((d) => MANIFEST_MEDIA_TYPES.includes(d.mediaType) || INDEX_MEDIA_TYPES.includes(d.mediaType))
    .map((d, i) => ({ d, i, score: platformScore(d.platform, wanted) }))
    .filter((x) => x.score >= 0)
    .sort((a, b) => b.score - a.score || a.i - b.i);
  if (scored.length > 0) return scored[0].d;
  const offered = index.manifests
    .map((d) => d.platform)
    .filter((p): p is Platform => !!p)
    .map(formatPlatform);
  throw new ImageError('IMAGE_PLATFORM_NOT_FOUND', `${what} has no image for ${formatPlatform(wanted)}`, {
    hint: offered.length
      ? `choose one of ${offered.join(', ')} with --platform`
      : 'the index names no platforms',
    details: { offered },
  });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
