/**
 * `node dist/image/unpack-worker.js`: apply layers to a rootfs in a child process, so the caller
 * can run it inside `unshare --user --map-root-user --map-users=...` where chown into the
 * subordinate range works. Reads one JSON request on stdin, prints one JSON line on stdout, exits
 * 0 on success and 1 on failure. Everything but the stdin/stdout shell lives in `run()`.
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMoatError } from '../errors.js';
import { ImageError } from './errors.js';
import { applyLayer, openLayerStream, type ApplyOptions, type LayerStats } from './unpack.js';

export interface WorkerRequest {
  rootfs: string;
  layers: { path: string; mediaType?: string }[];
  ownership: ApplyOptions['ownership'];
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
    const { path: p, mediaType } = l as Record<string, unknown>;
    if (typeof p !== 'string' || !path.isAbsolute(p))
      return bad(`layers[${i}].path must be an absolute path`);
    if (mediaType !== undefined && typeof mediaType !== 'string')
      return bad(`layers[${i}].mediaType must be a string`);
    return mediaType === undefined ? { path: p } : { path: p, mediaType };
  });
  return { rootfs: o.rootfs, layers, ownership: o.ownership };
}

/** Apply every layer of the request in order; never throws. */
export async function run(input: unknown): Promise<WorkerResult> {
  try {
    const req = parseRequest(input);
    const total: LayerStats = { entries: 0, bytes: 0, whiteouts: 0, squashedOwners: 0 };
    const layers: LayerStats[] = [];
    for (const l of req.layers) {
      const s = await applyLayer(req.rootfs, openLayerStream(l.path, l.mediaType), {
        ownership: req.ownership,
      });
      layers.push(s);
      total.entries += s.entries;
      total.bytes += s.bytes;
      total.whiteouts += s.whiteouts;
      total.squashedOwners += s.squashedOwners;
    }
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

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  let input: unknown;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    input = undefined; // run() reports IMAGE_WORKER_BAD_INPUT
  }
  const result = await run(input);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exitCode = result.ok ? 0 : 1;
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
