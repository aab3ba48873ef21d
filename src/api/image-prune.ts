/**
 * `moat image prune`, as `docker image prune` does it: image records no container uses (dangling
 * ones, or with `all` every one) go with their blobs, then what nothing references any more:
 * blobs and temp files older than the minimum age, unpacked roots of images that are gone and
 * that no container uses, and unpack trees a dead moat left half-made.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { PruneResult } from '../image/store.js';
import type { Engine } from '../runtime/engine.js';

export interface ImagePruneOptions {
  minAgeMs: number;
  /** Every image no container uses, not only the dangling ones (`docker image prune -a`). */
  all: boolean;
}

export interface ImagePruneResult extends PruneResult {
  /** IDs of the images whose unpacked roots were removed. */
  removedRoots: string[];
}

export async function pruneImages(engine: Engine, opts: ImagePruneOptions): Promise<ImagePruneResult> {
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
async function pruneRoots(engine: Engine, minAgeMs: number, inUse: ReadonlySet<string>): Promise<string[]> {
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
