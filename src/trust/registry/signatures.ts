/**
 * Cosign's signature attachments: the manifest tagged `sha256-<hex>.sig` in the image's own
 * repository, one layer per signature (media type simplesigning, the payload as the blob, the
 * signature and its certificate, chain and transparency-log bundle as annotations). Reading is
 * bounded (layers per manifest, bytes per payload); writing appends to what is there, never
 * drops an existing signature. The same for `cosign attest`'s `sha256-<hex>.att` (DSSE envelopes).
 */
import { digestHex } from '../../image/digest.js';
import { TrustError } from '../errors.js';
import { MAX_PAYLOAD_BYTES, SIMPLE_SIGNING_MEDIA_TYPE } from '../cosign/payload.js';
import { DSSE_MEDIA_TYPE, MAX_ENVELOPE_BYTES } from '../attest/envelope.js';
import { ANNOTATION_SIGNATURE, type SignatureLayer } from '../cosign/verify.js';
import { getManifest, getSmallBlob, putManifest, putSmallBlob, type Repo } from './repo.js';

/** Signatures read per image: more is not a signed image, it is an attack on the verifier. */
export const MAX_SIGNATURES = 64;
/** Annotations per layer, and bytes per annotation value (a certificate chain is a few KB). */
const MAX_ANNOTATIONS = 32;
const MAX_ANNOTATION_BYTES = 64 * 1024;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** `sha256:abc…` → `sha256-abc….sig` (cosign's tag for an image's signatures). */
export const signatureTag = (digest: string, suffix = 'sig') => `sha256-${digestHex(digest)}.${suffix}`;

interface Layer {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  annotations?: unknown;
}

function bad(repo: Repo, why: string): TrustError {
  return new TrustError('TRUST_FETCH_FAILED', `signatures of ${repo.name}: ${why}`, {
    hint: 'the signature attachment is malformed or hostile: sign the image again',
  });
}

function layersOf(repo: Repo, bytes: Buffer): Layer[] {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad(repo, 'the signature manifest is not valid JSON');
  }
  const layers = (m as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) throw bad(repo, 'the signature manifest has no layers');
  if (layers.length > MAX_SIGNATURES)
    throw bad(
      repo,
      `the signature manifest has ${layers.length} layers; moat reads at most ${MAX_SIGNATURES}`,
    );
  return layers as Layer[];
}

function annotationsOf(repo: Repo, l: Layer): Record<string, string> {
  const a = l.annotations;
  if (a === undefined) return {};
  if (typeof a !== 'object' || a === null || Array.isArray(a))
    throw bad(repo, 'layer annotations are not an object');
  const entries = Object.entries(a as Record<string, unknown>);
  if (entries.length > MAX_ANNOTATIONS) throw bad(repo, `a layer has ${entries.length} annotations`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw bad(repo, `annotation ${k} is not a string`);
    if (v.length > MAX_ANNOTATION_BYTES)
      throw bad(repo, `annotation ${k} is larger than ${MAX_ANNOTATION_BYTES} bytes`);
    out[k] = v;
  }
  return out;
}

/** The signature manifest's bytes and layers, or undefined when the image has none. */
async function current(
  repo: Repo,
  digest: string,
  suffix = 'sig',
): Promise<{ bytes: Buffer; layers: Layer[] } | undefined> {
  const m = await getManifest(
    repo,
    signatureTag(digest, suffix),
    `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json`,
    false,
  );
  return m && { bytes: m.bytes, layers: layersOf(repo, m.bytes) };
}

/** The cosign signatures attached to `digest` (an empty list when there are none). */
export async function fetchCosignSignatures(repo: Repo, digest: string): Promise<SignatureLayer[]> {
  return fetchLayers(repo, digest, ATTACHMENTS.sig);
}

/**
 * The attestations `cosign attest` attached to `digest` (`.att`: one DSSE envelope per layer, its
 * certificate, chain and transparency-log entry in the same annotations as a signature's).
 */
export async function fetchCosignAttestations(repo: Repo, digest: string): Promise<SignatureLayer[]> {
  return fetchLayers(repo, digest, ATTACHMENTS.att);
}

/** Cosign's two attachments: the tag suffix, the layers read, and the bytes read per layer. */
export const ATTACHMENTS = {
  sig: { suffix: 'sig', mediaType: SIMPLE_SIGNING_MEDIA_TYPE, maxBytes: MAX_PAYLOAD_BYTES },
  att: { suffix: 'att', mediaType: DSSE_MEDIA_TYPE, maxBytes: MAX_ENVELOPE_BYTES },
} as const;
type Attachment = (typeof ATTACHMENTS)[keyof typeof ATTACHMENTS];

async function fetchLayers(repo: Repo, digest: string, kind: Attachment): Promise<SignatureLayer[]> {
  try {
    return await readCosignSignatures(repo, digest, kind);
  } catch (e) {
    if (e instanceof TrustError) throw e;
    // A registry error, a body over its cap, a damaged blob: the signatures could not be read.
    throw new TrustError(
      'TRUST_FETCH_FAILED',
      `signatures of ${repo.name}@${digest}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

async function readCosignSignatures(repo: Repo, digest: string, kind: Attachment): Promise<SignatureLayer[]> {
  const found = await current(repo, digest, kind.suffix);
  if (!found) return [];
  const out: SignatureLayer[] = [];
  for (const l of found.layers) {
    if (l.mediaType !== kind.mediaType) continue; // other attachments are not signatures
    if (typeof l.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(l.digest))
      throw bad(repo, 'a layer has no valid digest');
    if (typeof l.size !== 'number' || !Number.isSafeInteger(l.size) || l.size < 0)
      throw bad(repo, 'a layer has no valid size');
    if (l.size > kind.maxBytes)
      throw bad(repo, `a signature payload of ${l.size} bytes is larger than ${kind.maxBytes}`);
    const payload = await getSmallBlob(repo, l.digest, kind.maxBytes);
    if (payload.length !== l.size)
      throw bad(repo, `payload ${l.digest} is ${payload.length} bytes, the manifest says ${l.size}`);
    out.push({ digest: l.digest, payload, annotations: annotationsOf(repo, l) });
  }
  return out;
}

/**
 * Attaches a signature to `digest`: the payload as a blob, a layer for it appended to the
 * existing signature manifest (a signature already there with the same payload and signature is
 * not added twice), and the manifest written back under the `.sig` tag.
 */
export async function pushCosignSignature(
  repo: Repo,
  digest: string,
  payload: Buffer,
  annotations: Record<string, string>,
  kind: Attachment = ATTACHMENTS.sig,
): Promise<{ manifestDigest: string; signatures: number }> {
  const existing = await current(repo, digest, kind.suffix);
  const layers: Layer[] = existing ? [...existing.layers] : [];
  const payloadDigest = await putSmallBlob(repo, payload);
  const duplicate = layers.some(
    (l) =>
      l.digest === payloadDigest &&
      (l.annotations as Record<string, string> | undefined)?.[ANNOTATION_SIGNATURE] ===
        annotations[ANNOTATION_SIGNATURE],
  );
  if (!duplicate) {
    if (layers.length >= MAX_SIGNATURES)
      throw new TrustError(
        'TRUST_SIGN_FAILED',
        `${repo.name}@${digest} already has ${layers.length} signatures`,
      );
    layers.push({
      mediaType: kind.mediaType,
      digest: payloadDigest,
      size: payload.length,
      annotations,
    });
  }
  // The config lists the layers' diff IDs (the payloads are not compressed), as cosign writes it.
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configDigest = await putSmallBlob(repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, size: config.length, digest: configDigest },
      layers,
    }),
  );
  const manifestDigest = await putManifest(repo, signatureTag(digest, kind.suffix), manifest, OCI_MANIFEST);
  return { manifestDigest, signatures: layers.length };
}
