/**
 * `node dist/image/unpack-worker.js`: apply layers to a rootfs in a child process, so the caller
 * can run it inside `unshare --user --map-root-user --map-users=...` where chown into the
 * subordinate range works. Reads one JSON request line on stdin, prints one JSON line on stdout,
 * exits 0 on success and 1 on failure. Everything but the stdin/stdout shell lives in `run()`.
 *
 * A layer is read from a blob file (`path`) or, with `follow`, from a blob still being written:
 * the lines after the request say where and how far (unpack-feed.ts). `moat pull` uses the
 * latter to unpack while it downloads; it commits the tree only once every blob's digest has
 * been verified.
 */
import { closeSync, openSync, realpathSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMoatError } from '../errors.js';
import { ImageError } from './errors.js';
import { FollowFeed } from './unpack-feed.js';
import { UnpackBudget, type WireLimits } from './unpack-limits.js';
import { RootResolver } from './unpack-resolver.js';
import {
  applyLayer,
  openLayerReadable,
  openLayerStream,
  type ApplyOptions,
  type LayerStats,
} from './unpack.js';

/**
 * A stored blob (`path`), or blob number `follow` of the follow events, which the store commits
 * to `final` once verified.
 */
export type WorkerLayer = ({ path: string } | { follow: number; final: string }) & { mediaType?: string };

export interface WorkerRequest {
  rootfs: string;
  layers: WorkerLayer[];
  ownership: ApplyOptions['ownership'];
  /** After the layers: create the mount points runc needs on a read-only root. */
  mountPoints?: boolean;
  /** Limits over all the layers (null: none); absent: none. See unpack-limits.ts. */
  limits?: WireLimits;
}

export type WorkerResult =
  | { ok: true; stats: LayerStats & { layers: LayerStats[] } }
  | { ok: false; error: { code: string; message: string; hint?: string } };

export function parseRequest(input: unknown): WorkerRequest {
  const bad = (why: string): never => {
    throw new ImageError('IMAGE_WORKER_BAD_INPUT', `unpack request: ${why}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('not a JSON object');
  const o = input as Record<string, unknown>;
  if (typeof o.rootfs !== 'string' || !path.isAbsolute(o.rootfs))
    return bad('rootfs must be an absolute path');
  if (o.ownership !== 'preserve' && o.ownership !== 'squash')
    return bad("ownership must be 'preserve' or 'squash'");
  if (!Array.isArray(o.layers)) return bad('layers must be an array');
  const layers = o.layers.map((l: unknown, i) => {
    if (typeof l !== 'object' || l === null) return bad(`layers[${i}] is not an object`);
    const { path: p, follow: n, final, mediaType } = l as Record<string, unknown>;
    if (mediaType !== undefined && typeof mediaType !== 'string')
      return bad(`layers[${i}].mediaType must be a string`);
    const mt = mediaType === undefined ? {} : { mediaType };
    if (n !== undefined) {
      if (p !== undefined) return bad(`layers[${i}] has both path and follow`);
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
        return bad(`layers[${i}].follow must be a non-negative integer`);
      if (typeof final !== 'string' || !path.isAbsolute(final))
        return bad(`layers[${i}].final must be an absolute path`);
      return { follow: n, final, ...mt };
    }
    if (typeof p !== 'string' || !path.isAbsolute(p))
      return bad(`layers[${i}].path must be an absolute path`);
    return { path: p, ...mt };
  });
  if (o.mountPoints !== undefined && typeof o.mountPoints !== 'boolean')
    return bad('mountPoints must be a boolean');
  let limits: WireLimits | undefined;
  if (o.limits !== undefined) {
    if (typeof o.limits !== 'object' || o.limits === null) return bad('limits must be an object');
    const { maxBytes, maxEntries } = o.limits as Record<string, unknown>;
    const limit = (v: unknown, k: string): number | null =>
      v === null || (typeof v === 'number' && Number.isSafeInteger(v) && v > 0)
        ? v
        : bad(`limits.${k} must be a positive integer or null`);
    limits = { maxBytes: limit(maxBytes, 'maxBytes'), maxEntries: limit(maxEntries, 'maxEntries') };
  }
  return {
    rootfs: o.rootfs,
    layers,
    ownership: o.ownership,
    ...(o.mountPoints ? { mountPoints: true } : {}),
    ...(limits ? { limits } : {}),
  };
}

/** Apply every layer of the request in order; never throws. */
export async function run(input: unknown, feed?: FollowFeed): Promise<WorkerResult> {
  try {
    const req = parseRequest(input);
    const total: LayerStats = { entries: 0, bytes: 0, whiteouts: 0, squashedOwners: 0 };
    const layers: LayerStats[] = [];
    const budget = new UnpackBudget({
      maxBytes: req.limits?.maxBytes ?? Infinity,
      maxEntries: req.limits?.maxEntries ?? Infinity,
    });
    const opts: ApplyOptions = { ownership: req.ownership, budget };
    for (const [i, l] of req.layers.entries()) {
      let s: LayerStats;
      if ('follow' in l) {
        if (!feed) throw new ImageError('IMAGE_WORKER_BAD_INPUT', 'unpack request: no follow events');
        const { head, rest } = await headOf(feed.follower(l.follow).read(), 6);
        const tar = openLayerReadable(Readable.from(rest), head, `layer ${i + 1}`, l.mediaType);
        s = await applyLayer(req.rootfs, tar, opts);
      } else {
        s = await applyLayer(req.rootfs, openLayerStream(l.path, l.mediaType), opts);
      }
      layers.push(s);
      total.entries += s.entries;
      total.bytes += s.bytes;
      total.whiteouts += s.whiteouts;
      total.squashedOwners += s.squashedOwners;
    }
    if (req.mountPoints) makeMountPoints(realpathSync(req.rootfs));
    return { ok: true, stats: { ...total, layers } };
  } catch (e) {
    const err = isMoatError(e)
      ? e
      : new ImageError('IMAGE_UNPACK_FAILED', e instanceof Error ? e.message : String(e), { cause: e });
    return {
      ok: false,
      error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) },
    };
  }
}

/**
 * The first `n` bytes of a byte stream (fewer if it is shorter), to recognise its compression,
 * and the whole stream again, those bytes included.
 */
export async function headOf(
  it: AsyncIterable<Buffer>,
  n: number,
): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const iter = it[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let have = 0;
  let end = false;
  while (have < n) {
    const r = await iter.next();
    if (r.done) {
      end = true;
      break;
    }
    first.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(first).subarray(0, n);
  async function* rest(): AsyncGenerator<Buffer> {
    yield* first;
    if (end) return;
    for (let r = await iter.next(); !r.done; r = await iter.next()) yield r.value;
  }
  return { head, rest: rest() };
}

/**
 * The directories and files runc mounts over on a read-only root, created here so no container
 * has to write them. Paths resolve inside the root (a symlinked /etc stays in the image) and a
 * file that exists in any form is left alone; what cannot be made is left to runc to report.
 */
export function makeMountPoints(root: string): void {
  const r = new RootResolver(root);
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'etc']) {
    try {
      r.dir([d], true);
    } catch {
      // e.g. a file where the directory should be
    }
  }
  let etc: string | null = null;
  try {
    etc = r.dir(['etc'], false);
  } catch {
    etc = null;
  }
  if (etc === null) return;
  for (const f of ['hosts', 'hostname', 'resolv.conf']) {
    try {
      // O_EXCL: never follows a symlink, never truncates what the image has.
      closeSync(openSync(path.join(r.abs(etc), f), 'wx', 0o644));
    } catch {
      // exists (a file, a dangling link...) or cannot be made
    }
  }
}

async function main(): Promise<void> {
  // The request is the first line; follow events (unpack-feed.ts) may follow it.
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  let input: unknown;
  try {
    input = first.done ? undefined : JSON.parse(first.value);
  } catch {
    input = undefined; // run() reports IMAGE_WORKER_BAD_INPUT
  }
  let feed: FollowFeed | undefined;
  const finals = new Map<number, string>();
  const layers = (input as { layers?: unknown } | undefined)?.layers;
  if (Array.isArray(layers))
    for (const l of layers as Record<string, unknown>[])
      if (typeof l?.follow === 'number' && typeof l.final === 'string') finals.set(l.follow, l.final);
  if (finals.size) {
    const f = (feed = new FollowFeed(finals));
    void (async () => {
      try {
        for (let r = await lines.next(); !r.done; r = await lines.next()) f.line(r.value);
      } catch {
        // the followers have been failed with the reason
      }
      f.ended();
    })();
  }
  const result = await run(input, feed);
  feed?.close();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exitCode = result.ok ? 0 : 1;
  // The pull may still be sending events (a failed unpack): stop reading them.
  process.stdin.destroy();
}

function isEntryPoint(): boolean {
  try {
    return (
      process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url
    );
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
