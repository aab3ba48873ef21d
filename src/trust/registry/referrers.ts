/**
 * OCI 1.1 referrers: the artifacts whose manifest names an image as its `subject` (sigstore
 * bundles, as cosign's bundle spec attaches them). Listed by `GET /v2/<repo>/referrers/<digest>`,
 * or, where the registry has no referrers API (it answers 404, as Debian's docker-registry does),
 * by the referrers tag schema: an image index tagged `sha256-<hex>` that clients keep up to date.
 *
 * Reading is bounded: descriptors per index, bytes per manifest and per bundle, no nesting (a
 * referrer that is itself an index is not followed). Each referrer manifest must hash to the
 * digest that named it (TRUST_FETCH_FAILED otherwise: the registry serves something else), and
 * must name this image as its subject. Writing pushes the artifact manifest by digest and, when
 * the registry keeps no referrers list itself, appends it to the tag's index, dropping nothing.
 */
import { httpError, readCapped } from '../../image/registry/index.js';
import { digestHex, sha256Digest } from '../../image/digest.js';
import { TrustError } from '../errors.js';
import {
  MAX_MANIFEST_BYTES,
  getManifest,
  getSmallBlob,
  putManifest,
  putSmallBlob,
  type Repo,
} from './repo.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** The artifact type cosign and moat attach bundles under. */
export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** The bounds on what is read (and written) here. */
export const REFERRERS_LIMITS = {
  /** Descriptors in one referrers index. */
  maxReferrers: 64,
  /** Bytes of one referrers index or referrer manifest. */
  maxManifestBytes: MAX_MANIFEST_BYTES,
  /** Bytes of one bundle blob. */
  maxBundleBytes: 4 << 20, // bundle/parse.ts's MAX_BUNDLE_BYTES (not imported: it loads @sigstore/bundle)
};

/** Sigstore bundle artifact types: v0.3 as cosign writes it, and the v0.1/v0.2 spellings. */
const BUNDLE_TYPE =
  /^application\/vnd\.dev\.sigstore\.bundle(?:\.v0\.[123]\+json|\+json;\s*version=0\.[123])$/;
export const isBundleArtifactType = (t: unknown): boolean => typeof t === 'string' && BUNDLE_TYPE.test(t);

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A referrer's content: the manifest that named the image, and its one blob. */
export interface Referrer {
  manifestDigest: string;
  artifactType: string;
  blob: Buffer;
}

/** `sha256:abc…` → `sha256-abc…`: the referrers tag schema's tag. */
export const referrersTag = (digest: string) => `sha256-${digestHex(digest)}`;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(
  repo: Repo,
  why: string,
  code: 'TRUST_FETCH_FAILED' | 'TRUST_SIGN_FAILED' = 'TRUST_FETCH_FAILED',
) {
  return new TrustError(code, `referrers of ${repo.name}: ${why}`, {
    hint: 'the referrers list or an artifact in it is malformed or hostile',
  });
}

function descriptorOf(repo: Repo, v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw bad(repo, `${where} is not an object`);
  const { mediaType, digest, size, artifactType, annotations } = v;
  if (typeof mediaType !== 'string') throw bad(repo, `${where} has no mediaType`);
  if (typeof digest !== 'string' || !DIGEST.test(digest)) throw bad(repo, `${where} has no valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw bad(repo, `${where} has no valid size`);
  if (artifactType !== undefined && typeof artifactType !== 'string')
    throw bad(repo, `${where} has an artifactType that is not a string`);
  let notes: Record<string, string> | undefined;
  if (annotations !== undefined) {
    if (!isObject(annotations) || Object.keys(annotations).length > 32)
      throw bad(repo, `${where} has malformed annotations`);
    notes = {};
    for (const [k, a] of Object.entries(annotations)) {
      if (typeof a !== 'string' || a.length > 4096) throw bad(repo, `${where} annotation ${k} is malformed`);
      notes[k] = a;
    }
  }
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(notes ? { annotations: notes } : {}),
  };
}

/** Parses a referrers index (an OCI image index): at most `maxReferrers` descriptors. */
export function parseReferrersIndex(repo: Repo, bytes: Buffer): Descriptor[] {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad(repo, 'the referrers index is not valid JSON');
  }
  if (!isObject(v)) throw bad(repo, 'the referrers index is not a JSON object');
  if (v.schemaVersion !== 2) throw bad(repo, 'the referrers index is not schemaVersion 2');
  if (v.mediaType !== undefined && v.mediaType !== OCI_INDEX)
    throw bad(repo, `the referrers index has media type ${JSON.stringify(v.mediaType)}`);
  const ms = v.manifests ?? [];
  if (!Array.isArray(ms)) throw bad(repo, 'the referrers index has no manifests list');
  if (ms.length > REFERRERS_LIMITS.maxReferrers)
    throw bad(
      repo,
      `the referrers index lists ${ms.length} artifacts; moat reads at most ${REFERRERS_LIMITS.maxReferrers}`,
    );
  return ms.map((d, i) => descriptorOf(repo, d, `referrer ${i + 1}`));
}

/**
 * The referrers index for `digest`: from the referrers API, else (404) the referrers tag.
 * `api` says which answered (a registry with the API keeps its list itself).
 */
export async function listReferrers(
  repo: Repo,
  digest: string,
): Promise<{ api: boolean; referrers: Descriptor[]; tagged?: Buffer }> {
  const res = await repo.client.send('GET', repo.client.repoUrl(`referrers/${digest}`), {
    headers: { accept: OCI_INDEX },
  });
  if (res.status === 200) {
    const bytes = await readCapped(
      res,
      REFERRERS_LIMITS.maxManifestBytes,
      `referrers of ${repo.name}@${digest}`,
    );
    return { api: true, referrers: parseReferrersIndex(repo, bytes) };
  }
  await res.body.dump();
  if (res.status !== 404) throw httpError(res.status, `GET referrers of ${repo.name}@${digest}`);
  const tagged = await getManifest(repo, referrersTag(digest), OCI_INDEX, false);
  if (!tagged) return { api: false, referrers: [] };
  return { api: false, referrers: parseReferrersIndex(repo, tagged.bytes), tagged: tagged.bytes };
}

/**
 * Reads one referrer: its manifest (which must hash to `d.digest`, be `d.size` bytes, and name
 * `subject` as its subject) and its single layer. `undefined` when it is not a referrer of this
 * image (gone, or about something else).
 */
async function readReferrer(
  repo: Repo,
  subject: string,
  d: Descriptor,
  maxBlob: number,
): Promise<Referrer | undefined> {
  if (d.mediaType !== OCI_MANIFEST) return undefined; // an index or anything else: not followed
  if (d.size > REFERRERS_LIMITS.maxManifestBytes)
    throw bad(repo, `referrer ${d.digest} is ${d.size} bytes, more than moat reads`);
  const m = await getManifest(repo, d.digest, OCI_MANIFEST, false);
  if (!m) return undefined;
  if (m.bytes.length !== d.size)
    throw new TrustError(
      'TRUST_FETCH_FAILED',
      `referrer ${repo.name}@${d.digest} is ${m.bytes.length} bytes, its descriptor says ${d.size}`,
      { hint: 'the registry serves something other than what it names: suspect it' },
    );
  let v: unknown;
  try {
    v = JSON.parse(m.bytes.toString('utf8'));
  } catch {
    throw bad(repo, `referrer ${d.digest} is not valid JSON`);
  }
  if (!isObject(v)) throw bad(repo, `referrer ${d.digest} is not a JSON object`);
  if (!isObject(v.subject) || v.subject.digest !== subject) return undefined;
  const type = typeof v.artifactType === 'string' ? v.artifactType : d.artifactType;
  if (!Array.isArray(v.layers) || v.layers.length !== 1)
    throw bad(repo, `referrer ${d.digest} does not have exactly one layer`);
  const layer = descriptorOf(repo, v.layers[0], `the layer of referrer ${d.digest}`);
  if (layer.size > maxBlob)
    throw bad(
      repo,
      `the layer of referrer ${d.digest} is ${layer.size} bytes; moat reads at most ${maxBlob}`,
    );
  const blob = await getSmallBlob(repo, layer.digest, maxBlob);
  if (blob.length !== layer.size)
    throw bad(repo, `blob ${layer.digest} is ${blob.length} bytes, its descriptor says ${layer.size}`);
  return { manifestDigest: d.digest, artifactType: type ?? '', blob };
}

/** The sigstore bundles attached to `digest` as referrers (each the bundle's bytes). */
export async function fetchReferrerBundles(repo: Repo, digest: string): Promise<Referrer[]> {
  try {
    const { referrers } = await listReferrers(repo, digest);
    const out: Referrer[] = [];
    for (const d of referrers) {
      if (!isBundleArtifactType(d.artifactType)) continue;
      const r = await readReferrer(repo, digest, d, REFERRERS_LIMITS.maxBundleBytes);
      if (r && isBundleArtifactType(r.artifactType)) out.push(r);
    }
    return out;
  } catch (e) {
    if (e instanceof TrustError) throw e;
    throw new TrustError(
      'TRUST_FETCH_FAILED',
      `referrers of ${repo.name}@${digest}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** The empty JSON object OCI artifacts use as their config. */
const EMPTY = Buffer.from('{}');

/**
 * Attaches `blob` to the image `subject` as an OCI 1.1 artifact: the blob and an empty config,
 * a manifest with `subject` and `artifactType` pushed by its digest, and, when the registry keeps
 * no referrers list, its descriptor appended to the referrers tag's index (entries already there
 * are kept; one already listed is not listed twice).
 */
export async function attachReferrer(
  repo: Repo,
  subject: { digest: string; size: number; mediaType: string },
  artifactType: string,
  blob: Buffer,
  annotations: Record<string, string>,
): Promise<{ manifestDigest: string; referrers: number; api: boolean }> {
  const blobDigest = await putSmallBlob(repo, blob);
  const emptyDigest = await putSmallBlob(repo, EMPTY);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: OCI_EMPTY, digest: emptyDigest, size: EMPTY.length },
      layers: [
        {
          mediaType: artifactType,
          digest: blobDigest,
          size: blob.length,
          annotations: { 'org.opencontainers.image.title': `${referrersTag(blobDigest)}.sigstore.json` },
        },
      ],
      subject,
      annotations,
    }),
  );
  const manifestDigest = sha256Digest(manifest);
  await putManifest(repo, manifestDigest, manifest, OCI_MANIFEST);
  const listed = await listReferrers(repo, subject.digest);
  if (listed.api) return { manifestDigest, referrers: listed.referrers.length, api: true };
  // The entries already listed are kept as they were written (validated above), fields and all.
  const referrers: unknown[] = listed.tagged
    ? ((JSON.parse(listed.tagged.toString('utf8')) as { manifests?: unknown[] }).manifests ?? [])
    : [];
  if (!listed.referrers.some((d) => d.digest === manifestDigest)) {
    if (referrers.length >= REFERRERS_LIMITS.maxReferrers)
      throw bad(repo, `${subject.digest} already has ${referrers.length} referrers`, 'TRUST_SIGN_FAILED');
    referrers.push({
      mediaType: OCI_MANIFEST,
      digest: manifestDigest,
      size: manifest.length,
      artifactType,
      annotations,
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: referrers }));
  await putManifest(repo, referrersTag(subject.digest), index, OCI_INDEX);
  return { manifestDigest, referrers: referrers.length, api: false };
}
