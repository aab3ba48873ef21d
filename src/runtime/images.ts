/**
 * Removing images, where the image store (records and blobs) meets what the runtime made of them
 * (unpacked roots, image-roots.ts) and the containers that use them: `moat rmi` and
 * `moat image prune`. The route handlers (api/image-routes.ts) call these and nothing more.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ImageError } from '../image/errors.js';
import { lookupImage, shortId, type PruneResult, type RemoveResult } from '../image/store.js';
import type { Engine } from './engine.js';

/** What these need of the engine: the store, the containers, and the unpacked roots. */
export type ImageEngine = Pick<
  Engine,
  'deps' | 'containers' | 'usersOf' | 'removeImageRootfs' | 'removeStaleUnpacks'
>;

/**
 * `rmi`, with Docker's conflicts: removing the image a running container uses is refused even
 * with force; removing the image (its last name, or by ID) that stopped containers use needs
 * force, and then the record goes but its blobs and unpacked root stay until no container uses
 * them (`image prune` frees them), so those containers still start. Untagging one of several
 * names is always allowed.
 */
export async function removeImage(
  engine: ImageEngine,
  ref: string,
  opts: { force?: boolean },
): Promise<RemoveResult> {
  const store = engine.deps.images;
  const { record, name } = lookupImage(await store.list(), ref);
  const deletes = name === undefined || record.names.length <= 1;
  const users = deletes ? await engine.usersOf(record.id) : [];
  const running = users.find((u) => u.status === 'running');
  if (running) {
    throw new ImageError(
      'IMAGE_IN_USE',
      `unable to delete ${shortId(record.id)} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`,
      {
        hint: `stop the container first (moat stop ${running.name}), then remove the image`,
        details: { id: record.id, containers: users.map((u) => u.id) },
      },
    );
  }
  if (users.length && !opts.force) {
    throw new ImageError(
      'IMAGE_IN_USE',
      `unable to remove ${JSON.stringify(ref)} (must be forced) - image is being used by stopped container ${users[0].id.slice(0, 12)}`,
      {
        hint: `remove the container first (moat rm ${users.map((u) => u.name).join(' ')}), or use moat rmi -f: the container keeps working`,
        details: { id: record.id, containers: users.map((u) => u.id) },
      },
    );
  }
  const res = await store.remove(ref, { force: opts.force, retain: users.length > 0 });
  if (res.deleted.length && !users.length) await engine.removeImageRootfs(record.id);
  return res;
}

export interface ImagePruneOptions {
  minAgeMs: number;
  /** Every image no container uses, not only the dangling ones (`docker image prune -a`). */
  all: boolean;
}

export interface ImagePruneResult extends PruneResult {
  /** IDs of the images whose unpacked roots were removed. */
  removedRoots: string[];
}

/**
 * `moat image prune`, as `docker image prune` does it: image records no container uses (dangling
 * ones, or with `all` every one) go with their blobs, then what nothing references any more:
 * blobs and temp files older than the minimum age, unpacked roots of images that are gone and
 * that no container uses, and unpack trees a dead moat left half-made.
 */
export async function pruneImages(engine: ImageEngine, opts: ImagePruneOptions): Promise<ImagePruneResult> {
  // Containers in any state keep their image: a stopped one can be started again.
  const inUse = new Set((await engine.containers.list()).map((c) => c.imageId));
  const res = await engine.deps.images.prune({
    minAgeMs: opts.minAgeMs,
    images: opts.all ? 'all' : 'dangling',
    inUse,
  });
  const removedRoots = await pruneRoots(engine, opts.minAgeMs, inUse);
  // Half-made unpack trees of a moat that died count as temp files too.
  const staleUnpacks = await engine.removeStaleUnpacks(opts.minAgeMs);
  return { ...res, removedTemp: [...res.removedTemp, ...staleUnpacks], removedRoots };
}

/**
 * Unpacked roots (storage/rootfs/<id>) of images the store no longer has and no container uses.
 * Their age is the commit marker's (`<id>.json`, written when the root was committed; the
 * directory's own times come from the image): a root a pull just unpacked, whose image is not
 * recorded yet, is younger than the minimum age and stays.
 */
async function pruneRoots(
  engine: ImageEngine,
  minAgeMs: number,
  inUse: ReadonlySet<string>,
): Promise<string[]> {
  const dir = path.join(engine.deps.paths.storage, 'rootfs');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const ids = new Set((await engine.deps.images.list()).map((i) => i.id));
  const removed: string[] = [];
  for (const n of names) {
    if (!/^[a-f0-9]{64}$/.test(n)) continue;
    const id = `sha256:${n}`;
    if (ids.has(id) || inUse.has(id)) continue;
    const st =
      (await fsp.stat(path.join(dir, `${n}.json`)).catch(() => undefined)) ??
      (await fsp.stat(path.join(dir, n)).catch(() => undefined));
    if (!st || st.mtimeMs > Date.now() - minAgeMs) continue;
    await engine.removeImageRootfs(id);
    removed.push(id);
  }
  return removed;
}
