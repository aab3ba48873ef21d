/**
 * `node dist/runtime/files/worker.js`: reads and writes a container's files from inside its user
 * namespace (container-fs.ts starts it there: in a running container's, with /proc/PID/root as
 * the root, or in a fresh one where the container's overlay is mounted), where files owned by
 * the container's users can be read and given owners. One JSON request line on stdin, then, for
 * an extraction, the tar. Data (a tar) goes to stdout; what the caller must know goes to fd 3 as
 * JSON lines: `{"stat": ...}` before the data, then `{"ok": true, "result": ...}` or
 * `{"ok": false, "error": {code, message, hint}}`. Exit 0 on success, 1 on failure.
 */
import { closeSync, constants as C, openSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMoatError } from '../../errors.js';
import { RuntimeError } from '../errors.js';
import { archiveBase, assertsDirectory, splitDirEntry } from './copy-plan.js';
import { asCopyError, extractArchive } from './extract.js';
import { Ids, type IdTranslation } from './ids.js';
import { changes, layerEntries } from './layer.js';
import { Archive } from './pack.js';
import { at, FdRoot, notFound } from './root.js';
import { goFileMode, type PathStat } from './stat.js';

export type WorkerOp =
  | { kind: 'stat'; path: string; followLink: boolean }
  | { kind: 'archive'; path: string; followLink: boolean }
  /** Into the existing directory `path`; owners: the directory's, or the archive's (`-a`). */
  | { kind: 'extract'; path: string; owner: 'dest' | 'archive'; single: boolean; topAttributes?: boolean }
  | { kind: 'export' }
  | { kind: 'changes'; upper: string; lower: string }
  | { kind: 'layer'; upper: string; lower: string };

export interface WorkerRequest {
  /** The container's root: a mount point of its overlay, or /proc/PID/root of its init. */
  root: string;
  /** Outside the namespace (root's worker): the mapping to translate owners through. */
  ids?: IdTranslation;
  op: WorkerOp;
}

const CONTROL_FD = 3;

function control(v: unknown): void {
  const b = Buffer.from(JSON.stringify(v) + '\n');
  for (let off = 0; off < b.length;) off += writeSync(CONTROL_FD, b, off);
}

/** What `p` is in the container (stat of `cp`, docker's X-Docker-Container-Path-Stat). */
function statPath(
  root: FdRoot,
  p: string,
  followLink: boolean,
): { stat: PathStat; dir: number; name: string; close: () => void } {
  const r = root.resolve(p, { followLast: followLink || assertsDirectory(p) });
  if (!r.st) {
    r.close();
    throw notFound(p);
  }
  let linkTarget = '';
  if (r.st.isSymbolicLink()) {
    try {
      const t = root.resolve(p, { followLast: true });
      linkTarget = t.path;
      t.close();
    } catch {
      linkTarget = readlinkSync(at(r.dir, r.name));
    }
  }
  const { base } = splitDirEntry(p);
  return {
    stat: {
      name: base,
      size: r.st.size,
      mode: goFileMode(r.st.mode),
      mtime: r.st.mtime.toISOString(),
      linkTarget,
    },
    dir: r.dir,
    name: r.name,
    close: r.close,
  };
}

async function pipeArchive(archive: Archive, fill: () => Promise<void>): Promise<void> {
  const sent = pipeline(archive.pack, process.stdout);
  try {
    await fill();
    archive.finalize();
  } catch (e) {
    archive.pack.destroy(e as Error);
    await sent.catch(() => {});
    throw e;
  }
  await sent;
}

function openDir(p: string): number {
  return openSync(p, C.O_RDONLY | C.O_DIRECTORY);
}

export async function run(req: WorkerRequest, stdin: Readable): Promise<unknown> {
  const ids = new Ids(req.ids);
  const root = new FdRoot(req.root);
  const op = req.op;
  switch (op.kind) {
    case 'stat': {
      const s = statPath(root, op.path, op.followLink);
      s.close();
      return s.stat;
    }
    case 'archive': {
      const s = statPath(root, op.path, op.followLink);
      control({ stat: s.stat });
      const archive = new Archive({ ids });
      try {
        await pipeArchive(archive, () => archive.tree(s.dir, s.name, archiveBase(op.path)));
      } finally {
        s.close();
      }
      return { skipped: archive.skipped };
    }
    case 'extract': {
      const dir = root.directory(op.path);
      const st = dir.st!;
      dir.close();
      return extractArchive(root, stdin, {
        dir: op.path,
        owner:
          op.owner === 'dest'
            ? { kind: 'fixed', uid: st.uid, gid: st.gid }
            : { kind: 'archive', local: (u, g) => (op.single ? ids.toLocal(0, 0) : ids.toLocal(u, g)) },
        modeMask: 0o7777,
        ...(op.topAttributes ? { topAttributes: true } : {}),
      });
    }
    case 'export': {
      const archive = new Archive({ ids, oneFileSystem: true });
      await pipeArchive(archive, async () => {
        const fd = openDir(req.root);
        try {
          for (const n of readdirSync(at(fd)).sort()) await archive.tree(fd, n, n);
        } finally {
          closeSync(fd);
        }
      });
      return { skipped: archive.skipped };
    }
    case 'changes':
    case 'layer': {
      const dirs = { upper: openDir(op.upper), lower: openDir(op.lower), merged: root.fd };
      try {
        if (op.kind === 'changes') return changes(dirs);
        const archive = new Archive({ ids });
        await pipeArchive(archive, () => layerEntries(archive, dirs));
        return { skipped: archive.skipped };
      } finally {
        closeSync(dirs.upper);
        closeSync(dirs.lower);
      }
    }
  }
}

/** The request line, and stdin from just after it. */
async function readRequest(stdin: Readable): Promise<unknown> {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = stdin.read() as Buffer | null;
    if (chunk === null) {
      if (stdin.readableEnded) break;
      await new Promise<void>((resolve) => {
        const go = () => {
          stdin.off('readable', go);
          stdin.off('end', go);
          resolve();
        };
        stdin.on('readable', go);
        stdin.on('end', go);
      });
      continue;
    }
    const nl = chunk.indexOf(10);
    if (nl < 0) {
      chunks.push(chunk);
      continue;
    }
    chunks.push(chunk.subarray(0, nl));
    if (nl + 1 < chunk.length) stdin.unshift(chunk.subarray(nl + 1));
    break;
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

async function main(): Promise<void> {
  try {
    const req = (await readRequest(process.stdin)) as WorkerRequest;
    if (typeof req?.root !== 'string' || !path.isAbsolute(req.root) || typeof req.op?.kind !== 'string')
      throw new RuntimeError('RUNTIME_COPY_FAILED', 'files worker: malformed request');
    const result = await run(req, process.stdin);
    control({ ok: true, result });
    process.exitCode = 0;
  } catch (e) {
    const err = isMoatError(e) ? e : (asCopyError(e) as Error);
    const m = err as { code?: string; message: string; hint?: string };
    control({
      ok: false,
      error: { code: m.code ?? 'RUNTIME_COPY_FAILED', message: m.message, hint: m.hint },
    });
    process.exitCode = 1;
  }
  // stdin may still be open (a refused extraction): do not wait for it.
  process.stdin.destroy();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
