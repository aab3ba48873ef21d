/**
 * An image's flattened root: every layer applied in order (whiteouts included) into
 * `storage/rootfs/<image id>`, unpacked once inside moat's user namespace so that file owners
 * land in the subordinate range. Containers mount it as the read-only lower layer of an overlay.
 * The directory appears by rename only when complete; a marker records the mapping it was made with.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { MoatError } from '../errors.js';
import { IMAGE_ERROR_CODES, ImageError, type ImageErrorCode } from '../image/errors.js';
import type { ImageRecord } from '../image/types.js';
import type { BlobFollower } from '../image/blob-follower.js';
import { toWire, unpackLimitsFromEnv, type UnpackLimits } from '../image/unpack-limits.js';
import type { WorkerLayer } from '../image/unpack-worker.js';
import {
  checkUsernsRun,
  removeTreeInUserns,
  runCollect,
  runInUserns,
  startPumped,
  unshareArgv,
  type Pump,
  type PumpedChild,
  type RunResult,
  type UsernsTools,
} from '../userns/exec.js';
import { withLock } from '../util/lock.js';
import { pidInUse } from '../util/proc.js';
import { shiftOwnership } from '../userns/shift.js';
import { mark } from '../util/timing.js';

export interface RootfsDeps {
  storageRoot: string;
  locks: string;
  blobPath: (digest: string) => string;
  tools: UsernsTools;
  /** What one image may unpack to; default: the environment's (unpack-limits.ts). */
  unpackLimits?: UnpackLimits;
}

const WORKER = fileURLToPath(new URL('../image/unpack-worker.js', import.meta.url));
const isImageCode = (code: string): code is ImageErrorCode =>
  (IMAGE_ERROR_CODES as readonly string[]).includes(code);

function mappingTag(t: UsernsTools): string {
  return JSON.stringify({ uid: t.maps.uidMap, gid: t.maps.gidMap });
}

export function rootfsDir(storageRoot: string, imageId: string): string {
  return path.join(storageRoot, 'rootfs', imageId.replace(/^sha256:/, ''));
}

/**
 * The image's unpacked root if it is there, complete and made with this ID mapping; undefined
 * otherwise. A read: nothing is unpacked, locked or removed (planning calls it before the policy
 * has decided).
 */
export async function readyRootfs(
  deps: Pick<RootfsDeps, 'storageRoot' | 'tools'>,
  imageId: string,
): Promise<string | undefined> {
  const dir = rootfsDir(deps.storageRoot, imageId);
  const tag = await fsp.readFile(`${dir}.json`, 'utf8').catch(() => '');
  return tag === mappingTag(deps.tools) ? dir : undefined;
}

export async function ensureImageRootfs(
  deps: RootfsDeps,
  image: ImageRecord,
  onProgress?: (msg: string) => void,
): Promise<string> {
  const r = await buildRootfs(deps, image.id, {
    layers: image.layers.map((l) => ({ path: deps.blobPath(l.digest), mediaType: l.mediaType })),
    onStart: () => onProgress?.(`unpacking ${image.layers.length} layer(s) of ${image.id.slice(7, 19)}`),
  });
  return r.dir;
}

/** A layer arriving as a stream (a download in progress), for unpackWhileDownloading. */
export interface StreamedLayer {
  mediaType?: string;
  /** Follows the blob's download (the same follower for a layer listed twice). */
  follower: BlobFollower;
  /** Where the store puts the blob once verified. */
  final: string;
}

/**
 * Unpack an image's root from layers that are still downloading (`moat pull`): the worker reads
 * each blob's file as it is written, told where and how far by follow events on its stdin
 * (unpack-feed.ts), and the tree is committed only after `verified` resolves (every blob's
 * digest and size checked). If a download fails, the worker is stopped and the partial tree
 * removed. Resolves `{ created: false }` when the root already exists.
 */
export async function unpackWhileDownloading(
  deps: RootfsDeps,
  imageId: string,
  layers: StreamedLayer[],
  verified: Promise<unknown>,
  opts: { onStart?: () => void; worker?: PumpedChild } = {},
): Promise<{ dir: string; created: boolean }> {
  const index = new Map<BlobFollower, number>();
  for (const l of layers) if (!index.has(l.follower)) index.set(l.follower, index.size);
  return buildRootfs(deps, imageId, {
    layers: layers.map((l) => ({ follow: index.get(l.follower)!, final: l.final, mediaType: l.mediaType })),
    pump: async (write) => {
      await Promise.all(
        [...index].map(async ([follower, f]) => {
          for await (const ev of follower.progress()) await write(JSON.stringify({ f, ...ev }) + '\n');
        }),
      );
    },
    verified,
    onStart: opts.onStart,
    worker: opts.worker,
  });
}

/**
 * Start an unpack worker now (in the user namespace, or directly for root) for a later
 * unpackWhileDownloading: its start-up (Node, unshare, newuidmap: ~0.1 s) then overlaps the
 * manifest and config fetches instead of delaying the first layer bytes. Cancel it if unused.
 */
export function startUnpackWorker(deps: RootfsDeps): PumpedChild {
  const argv = [process.execPath, WORKER];
  return startPumped(deps.tools.callerUid === 0 ? argv : unshareArgv(deps.tools, argv));
}

interface BuildSource {
  layers: WorkerLayer[];
  pump?: Pump;
  /** A worker started beforehand (startUnpackWorker), fed with `pump`. */
  worker?: PumpedChild;
  verified?: Promise<unknown>;
  onStart?: () => void;
}

async function buildRootfs(
  deps: RootfsDeps,
  imageId: string,
  src: BuildSource,
): Promise<{ dir: string; created: boolean }> {
  const dir = rootfsDir(deps.storageRoot, imageId);
  const marker = `${dir}.json`;
  const tag = mappingTag(deps.tools);
  const ready = async () => (await fsp.readFile(marker, 'utf8').catch(() => '')) === tag;
  const already = () => {
    src.worker?.cancel();
    return { dir, created: false };
  };
  if (await ready()) return already();
  const lockFile = path.join(deps.locks, `rootfs-${imageId.slice(7, 23)}.lock`);
  const commit = async (t: Unpacked): Promise<{ dir: string; created: boolean }> => {
    if (await ready()) {
      await t.cleanup();
      return { dir, created: false };
    }
    try {
      // A stale tree (other mapping, or interrupted removal) goes first.
      if (
        await fsp.lstat(dir).then(
          () => true,
          () => false,
        )
      ) {
        await fsp.rm(marker, { force: true });
        await removeTreeInUserns(deps.tools, dir);
      }
      await fsp.rename(t.root, dir);
    } catch (e) {
      await t.cleanup();
      throw e;
    }
    // Root's wrapper is empty now; only a failure needs the namespace to remove what is left.
    if (t.root !== t.tmp) await fsp.rmdir(t.tmp).catch(t.cleanup);
    await fsp.writeFile(marker, tag, { mode: 0o600 });
    mark('rootfs committed');
    return { dir, created: true };
  };
  if (!src.pump) {
    // Unpacking from the store takes seconds: one process does it, the others wait and reuse it.
    return withLock(lockFile, async () => {
      if (await ready()) return already();
      return commit(await unpackToTmp(deps, dir, src));
    });
  }
  // Fed by a download, which may take minutes: unpack outside the lock (into a private
  // temporary directory), and take the lock only to commit. Concurrent pulls of one image each
  // unpack; the first to commit wins and the others discard their trees.
  const unpacked = await unpackToTmp(deps, dir, src);
  try {
    return await withLock(lockFile, () => commit(unpacked));
  } catch (e) {
    await unpacked.cleanup();
    throw e;
  }
}

interface Unpacked {
  /** The temporary directory beside the final one; removed by `cleanup`. */
  tmp: string;
  /** The unpacked root: `tmp` itself, or (for root) `tmp/rootfs`. Committed by renaming it. */
  root: string;
  cleanup: () => Promise<void>;
}

/** Unpack into a fresh temporary directory beside `dir`; owners shifted for root; verified. */
async function unpackToTmp(deps: RootfsDeps, dir: string, src: BuildSource): Promise<Unpacked> {
  // Made by ensureDirs (for root: container root's group may pass through, no one else).
  await fsp.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  // Everyone but root unpacks inside the user namespace, where the owners land in the
  // subordinate range by themselves. Root unpacks directly (moat's code under /root would be
  // unreadable from inside the namespace), then shifts every owner into its range; until
  // then the tree sits inside a 0700 directory, so no one can reach a file owned by a real
  // host user (a set-user-ID root binary, say).
  const asRoot = deps.tools.callerUid === 0;
  const tmp = path.join(
    path.dirname(dir),
    `.tmp-${path.basename(dir).slice(0, 12)}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  // Everyone else unpacks into `tmp` itself, committed by a rename within its own parent. The
  // layer's `./` entry gives the root its owner and mode (a tar made by an ordinary user: that
  // user's uid, a subordinate ID here), and moving a directory to another parent needs write
  // permission on it (to update its `..`), which the caller then lacks; a rename that keeps the
  // parent needs none. Root bypasses that check and keeps the 0700 wrapper described above.
  const root = asRoot ? path.join(tmp, 'rootfs') : tmp;
  await fsp.mkdir(tmp, { mode: asRoot ? 0o700 : 0o755 });
  if (asRoot) await fsp.mkdir(root, { mode: 0o755 });
  // Files the worker made belong to subordinate IDs: removed in the namespace. A tree the worker
  // never wrote to (it could not start) is the caller's own: removed directly if that fails.
  const cleanup = () =>
    removeTreeInUserns(deps.tools, tmp)
      .catch(() => fsp.rm(tmp, { recursive: true, force: true }))
      .catch(() => {});
  src.onStart?.();
  const request = JSON.stringify({
    rootfs: root,
    layers: src.layers,
    ownership: deps.tools.maps.mode === 'single' ? 'squash' : 'preserve',
    mountPoints: true,
    limits: toWire(deps.unpackLimits ?? unpackLimitsFromEnv()),
  });
  const pump = src.pump;
  const argv = [process.execPath, WORKER];
  const what = 'unpack the image';
  const fed: Pump | undefined = pump
    ? async (write) => {
        await write(request + '\n');
        await pump(write);
      }
    : undefined;
  let run: Promise<RunResult>;
  if (fed) {
    // Fed by a pump: the worker given (started early by the pull) or one started now.
    const worker = src.worker ?? startUnpackWorker(deps);
    run = worker.run(fed).then((r) => (asRoot ? r : checkUsernsRun(r, what)));
  } else {
    src.worker?.cancel();
    run = asRoot
      ? runCollect(argv, { input: request })
      : runInUserns(deps.tools, argv, { what, input: request });
  }
  const r = await run.catch(async (e) => {
    await cleanup();
    throw e;
  });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  let res: { ok: boolean; error?: { code: string; message: string; hint?: string } } = { ok: false };
  try {
    res = JSON.parse(last) as typeof res;
  } catch {
    res = {
      ok: false,
      error: { code: 'IMAGE_UNPACK_FAILED', message: `unpack worker failed: ${r.stderr.trim() || last}` },
    };
  }
  if (!res.ok || r.code !== 0) {
    await cleanup();
    const e = res.error ?? { code: 'IMAGE_UNPACK_FAILED', message: r.stderr.trim() };
    // The worker's errors are the image room's; a code of another room is passed on as it came.
    throw isImageCode(e.code)
      ? new ImageError(e.code, e.message, { hint: e.hint })
      : new MoatError(e.code, e.message, { hint: e.hint });
  }
  mark('unpack worker done');
  // Bytes unpacked before their digest was checked are committed only once it has been.
  if (src.verified) {
    try {
      await src.verified;
    } catch (e) {
      await cleanup();
      throw e;
    }
  }
  if (asRoot) {
    try {
      shiftOwnership(root, deps.tools.maps.uidMap, deps.tools.maps.gidMap);
    } catch (e) {
      await cleanup();
      throw e;
    }
  }
  return { tmp, root, cleanup };
}

/**
 * Temporary unpack trees left by a moat that died mid-unpack (kill -9, Ctrl-C during a pull):
 * `.tmp-<id>-<pid>-<random>` whose process is gone and that are older than `minAgeMs`. The name
 * has no start time, so a tree whose pid is in use is kept even if that pid now belongs to
 * another program: a reused pid only delays the clean-up, it never removes a live unpack's tree.
 */
export async function removeStaleUnpacks(deps: RootfsDeps, minAgeMs: number): Promise<string[]> {
  const base = path.join(deps.storageRoot, 'rootfs');
  const names = await fsp.readdir(base).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const n of names) {
    const m = /^\.tmp-[a-f0-9]{12}-(?:(\d+)-)?[a-f0-9]{8}$/.exec(n);
    if (!m) continue;
    if (m[1] !== undefined && pidInUse(Number(m[1]))) continue;
    const p = path.join(base, n);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st?.isDirectory() || st.mtimeMs > Date.now() - minAgeMs) continue;
    await removeTreeInUserns(deps.tools, p);
    removed.push(p);
  }
  return removed;
}

export async function removeImageRootfs(deps: RootfsDeps, imageId: string): Promise<void> {
  const dir = rootfsDir(deps.storageRoot, imageId);
  await fsp.rm(`${dir}.json`, { force: true });
  if (
    await fsp.lstat(dir).then(
      () => true,
      () => false,
    )
  )
    await removeTreeInUserns(deps.tools, dir);
}
