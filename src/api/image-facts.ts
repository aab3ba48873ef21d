/**
 * What the policy sees of an image: not only the string the client typed, which any user can
 * make name anything (`moat tag`), but every name the image has, its image ID, its manifest
 * digest and (when trust verification lands) its verified signers. Exceptions must match
 * identities no user can create (digests, verified signers); blocklists match every name and digest.
 */
import { localCandidates } from '../image/reference.js';
import { lookupImage } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import type { Engine } from '../runtime/engine.js';
import type { ContainerRecord } from '../runtime/state.js';

export interface ImageFacts {
  /** As the client typed it (a name, an ID, an ID prefix, `name@digest`). */
  ref: string;
  /** What it resolved to: the stored name it matched, `repo@digest`, or the image ID. */
  reference: string;
  /** Every name the image has now (`host/path:tag`). */
  names: string[];
  /** `host/path@sha256:…` it was pulled by or as. */
  repo_digests: string[];
  /** The repositories of those names, without tag or digest (`host/path`). */
  repositories: string[];
  /** The image ID (config digest). */
  id: string;
  /** The manifest digest. */
  digest: string;
  /**
   * Verified signer identities: filled when trust verification lands. Empty means unverified,
   * never trusted.
   */
  signers: string[];
}

function repositoryOf(name: string): string {
  const at = name.indexOf('@');
  if (at >= 0) return name.slice(0, at);
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** The canonical reference `ref` names for this image (see ImageFacts.reference). */
function canonicalReference(rec: ImageRecord, ref: string): string {
  try {
    const { name } = lookupImage([rec], ref);
    if (name) return name;
    for (const c of localCandidates(ref)) {
      if (c.includes('@') && (rec.repoDigests?.includes(c) || c.endsWith(`@${rec.manifestDigest}`))) return c;
    }
  } catch {
    /* an ID or ID prefix: the ID is its canonical form */
  }
  return rec.id;
}

/** The image facts of a stored image, `ref` being what the client typed for it. */
export function imageFacts(rec: ImageRecord, ref: string): ImageFacts {
  const names = [...rec.names];
  const repoDigests = [...(rec.repoDigests ?? [])];
  return {
    ref,
    reference: canonicalReference(rec, ref),
    names,
    repo_digests: repoDigests,
    repositories: [...new Set([...names, ...repoDigests].map(repositoryOf))],
    id: rec.id,
    digest: rec.manifestDigest,
    signers: [],
  };
}

/**
 * The image facts of an existing container (start, exec): the image it was created from, by its
 * ID (names may have moved since). Facts are reads: a container or image that cannot be found
 * gives no facts (the handler then reports it, after the decision).
 */
export async function containerImageFacts(
  engine: Engine,
  containerRef: string,
): Promise<{ image?: ImageFacts | Pick<ImageFacts, 'ref' | 'id' | 'signers'> }> {
  let rec;
  try {
    rec = await engine.containers.resolve(containerRef);
  } catch {
    return {};
  }
  return { image: await recordImageFacts(engine, rec) };
}

/** The image facts of the container recorded as `rec` (see containerImageFacts). */
export async function recordImageFacts(
  engine: Engine,
  rec: Pick<ContainerRecord, 'image' | 'imageId'>,
): Promise<ImageFacts | Pick<ImageFacts, 'ref' | 'id' | 'signers'>> {
  const img = (await engine.deps.images.list().catch(() => [] as ImageRecord[])).find(
    (i) => i.id === rec.imageId,
  );
  // An image removed since (rmi -f): its ID is all that is left, still enough for a blocklist.
  return img ? imageFacts(img, rec.image) : { ref: rec.image, id: rec.imageId, signers: [] };
}
