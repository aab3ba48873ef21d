/**
 * A container's files from the engine's side: `cp` both ways (with docker's rules for where a copy
 * lands, copy-plan.ts), `diff`, `export` and the layer `commit` stores. Which view the worker
 * reads is chosen here (container-fs.ts): a running container's own for `cp`, its overlay
 * mounted privately otherwise, and always for what reads its layer.
 */
import type { Readable, Writable } from 'node:stream';
import type { UsernsTools } from '../../userns/exec.js';
import type { MoatPaths } from '../../util/paths.js';
import { filesOp, startFilesWorker, type FilesDeps, type FilesWorker } from '../container-fs.js';
import { RuntimeError } from '../errors.js';
import { containerDirs, type ContainerRecord, type ContainerStore } from '../state.js';
import { archiveBase, hiddenUnderMount, planCopy } from './copy-plan.js';
import type { ExtractResult } from './extract.js';
import { extractToHost, hostStat, packHostPath } from './host.js';
import type { Change } from './layer.js';
import { isDirMode, type PathStat } from './stat.js';

export type { Change, ChangeKind } from './layer.js';
export { KIND_LETTER } from './layer.js';
export type { PathStat } from './stat.js';
export { isDirMode, isSymlinkMode } from './stat.js';

/** What the file operations need of the engine. */
export interface FilesEngine {
  deps: { paths: MoatPaths };
  tools(): UsernsTools;
  containers: ContainerStore;
  /** The record, reconciled (its status is what runs now). */
  inspect(ref: string): Promise<ContainerRecord>;
}

function depsOf(e: FilesEngine): FilesDeps {
  return { paths: e.deps.paths, tools: () => e.tools() };
}

/** The container, reconciled; a broken record cannot be read. */
export async function filesRecord(e: FilesEngine, ref: string): Promise<ContainerRecord> {
  const rec = await e.inspect(ref);
  if (rec.status === 'broken')
    throw new RuntimeError(
      'RUNTIME_CORRUPT_STATE',
      `container ${rec.name || ref} has a broken record: ${rec.error}`,
    );
  return rec;
}

const running = (rec: ContainerRecord) => rec.status === 'running' && Boolean(rec.pid);
const readView = (rec: ContainerRecord) => (running(rec) ? 'live' : 'snapshot');

/** What `path` is in the container (docker's HEAD archive); RUNTIME_PATH_NOT_FOUND if nothing. */
export async function statInContainer(
  e: FilesEngine,
  rec: ContainerRecord,
  path: string,
  followLink: boolean,
): Promise<PathStat> {
  return (await filesOp(depsOf(e), rec, readView(rec), { kind: 'stat', path, followLink })) as PathStat;
}

/** A tar of `path` (its base name as the top entry), and what it is before the first byte. */
export function archiveOf(
  e: FilesEngine,
  rec: ContainerRecord,
  path: string,
  followLink: boolean,
): FilesWorker {
  return startFilesWorker(depsOf(e), rec, readView(rec), { kind: 'archive', path, followLink });
}

export interface ExtractInto {
  /** An existing directory in the container. */
  dir: string;
  /** The archive's owners (`cp -a`) instead of the directory's. */
  archiveOwners: boolean;
}

/**
 * Extract a tar into a directory of the container: a running one as it sees itself (a read-only
 * root refuses), a stopped one through its overlay, under its lock (a start waits).
 */
export async function extractInto(
  e: FilesEngine,
  rec: ContainerRecord,
  input: Readable,
  o: ExtractInto,
): Promise<ExtractResult> {
  const op = {
    kind: 'extract' as const,
    path: o.dir,
    owner: o.archiveOwners ? ('archive' as const) : ('dest' as const),
    single: rec.idmapMode === 'single',
  };
  const go = (r: ContainerRecord, view: 'live' | 'writable') => {
    const w = startFilesWorker(depsOf(e), r, view, op, input);
    w.stdout.resume();
    return w.done as Promise<ExtractResult>;
  };
  if (running(rec)) return go(rec, 'live');
  return e.containers.locked(rec.id, async () => {
    const now = await e.containers.load(rec.id);
    if (running(now)) return go(now, 'live');
    const mount = hiddenUnderMount(o.dir, now.options);
    if (mount)
      throw new RuntimeError(
        'RUNTIME_COPY_REFUSED',
        `${o.dir} is under ${mount}, a mount of ${now.name || now.id.slice(0, 12)} that exists only while it runs: a copy there now would be hidden by it`,
        {
          hint:
            mount === '/tmp' || mount === '/run'
              ? 'start the container and copy then, or copy to a path of its root (moat keeps the copy in its layer)'
              : "start the container and copy then, or copy into the volume's host directory",
        },
      );
    return go(now, 'writable');
  });
}

/** Send the worker's tar to `out` (left open); resolves once it is all written and the worker done. */
export async function sendArchive(w: FilesWorker, out: Writable): Promise<unknown> {
  const sent = new Promise<void>((resolve, reject) => {
    w.stdout.on('end', resolve);
    w.stdout.on('error', reject);
    out.on('error', reject);
    // A reader that went away (a client's connection, a closed pipe) reads no more: without this,
    // the worker would wait on its full stdout for ever.
    out.on('close', () => {
      if (!w.stdout.readableEnded)
        reject(new RuntimeError('RUNTIME_COPY_FAILED', 'the reader of the archive went away'));
    });
  });
  w.stdout.pipe(out, { end: false });
  try {
    await Promise.all([sent, w.done]);
  } catch (e) {
    w.kill();
    throw e;
  }
  return w.done;
}

export interface CopyResult {
  stat: PathStat;
  /** Entries not copied (devices, fifos, sockets). */
  skipped: string[];
}

/** `cp CONTAINER:PATH HOSTPATH`: docker's rules for where it lands; written as the caller. */
export async function copyOut(
  e: FilesEngine,
  rec: ContainerRecord,
  path: string,
  hostPath: string,
  followLink: boolean,
): Promise<CopyResult> {
  const w = archiveOf(e, rec, path, followLink);
  let stat: PathStat;
  try {
    stat = await w.stat;
  } catch (err) {
    w.kill();
    throw err;
  }
  try {
    const dst = hostStat(hostPath, true);
    const plan = planCopy({ path, isDir: isDirMode(stat.mode) }, { path: hostPath, ...dst });
    const [res, done] = await Promise.all([extractToHost(w.stdout, plan), w.done]);
    return { stat, skipped: [...res.skipped, ...((done as { skipped?: string[] }).skipped ?? [])] };
  } catch (err) {
    w.kill();
    throw err;
  }
}

/** `cp HOSTPATH CONTAINER:PATH`: the destination's stat decides where it lands (docker's rules). */
export async function copyIn(
  e: FilesEngine,
  rec: ContainerRecord,
  hostPath: string,
  path: string,
  o: { followLink: boolean; archiveOwners: boolean },
): Promise<{ skipped: string[] }> {
  const src = hostStat(hostPath, o.followLink);
  const dst = await statInContainer(e, rec, path, true).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'RUNTIME_PATH_NOT_FOUND') return undefined;
    throw err;
  });
  const plan = planCopy(
    { path: hostPath, isDir: src.isDir, ...(o.followLink ? { rebaseName: archiveBase(hostPath) } : {}) },
    { path, exists: dst !== undefined, isDir: dst !== undefined && isDirMode(dst.mode) },
  );
  const packed = packHostPath(hostPath, {
    followLink: o.followLink,
    top: plan.rebase?.to ?? archiveBase(hostPath),
  });
  const [res, host] = await Promise.all([
    extractInto(e, rec, packed.stream, { dir: plan.dir, archiveOwners: o.archiveOwners }),
    packed.done,
  ]);
  return { skipped: [...host.skipped, ...res.skipped] };
}

/** `export`: the container's filesystem (its layer over the image, no mounts) as a tar. */
export function exportOf(e: FilesEngine, rec: ContainerRecord): FilesWorker {
  return startFilesWorker(depsOf(e), rec, 'snapshot', { kind: 'export' });
}

function layerPaths(e: FilesEngine, rec: ContainerRecord) {
  return { upper: containerDirs(e.deps.paths, rec.id).upper, lower: rec.lowerdir };
}

/** `diff`: what the container changed, added and deleted (docker's kinds). */
export async function changesOf(e: FilesEngine, rec: ContainerRecord): Promise<Change[]> {
  return (await filesOp(depsOf(e), rec, 'snapshot', { kind: 'changes', ...layerPaths(e, rec) })) as Change[];
}

/** `commit`: the container's layer as an OCI layer tar (whiteouts as `.wh.` entries). */
export function layerOf(e: FilesEngine, rec: ContainerRecord): FilesWorker {
  return startFilesWorker(depsOf(e), rec, 'snapshot', { kind: 'layer', ...layerPaths(e, rec) });
}
