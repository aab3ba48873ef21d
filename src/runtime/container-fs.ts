/**
 * Where a container's files are read and written: the files worker (files/worker.ts), started in
 * the place that sees them as the container does, with the rights to read them and give owners:
 *
 *   - 'live': a running container, as it sees itself (its mounts included): the worker enters
 *     the container's user namespace and takes /proc/PID/root of its init as the root;
 *   - 'snapshot': the container's overlay mounted read-only (its upper layer over the image's
 *     root) in a fresh user and mount namespace, for a stopped container's files and for what
 *     reads the container's own layer (diff, export, commit) whether it runs or not;
 *   - 'writable': the overlay mounted read-write the same way, for copying into a container that
 *     is not running (the caller holds its lock).
 *
 * Root's worker runs outside the namespace (moat's code under /root is unreadable from inside)
 * and translates owners through the container's mapping itself. Everything a worker says comes
 * on its fd 3 as JSON lines (see worker.ts); its data on stdout.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MoatError } from '../errors.js';
import { nsenterArgv, unshareArgv, type UsernsTools } from '../userns/exec.js';
import type { MoatPaths } from '../util/paths.js';
import { RuntimeError } from './errors.js';
import type { PathStat } from './files/stat.js';
import type { WorkerOp, WorkerRequest } from './files/worker.js';
import { containerDirs, type ContainerRecord } from './state.js';

/** From dist/runtime/ and from the bundle in dist/bundle/ alike. */
const WORKER = fileURLToPath(new URL('../runtime/files/worker.js', import.meta.url));

export type FilesView = 'live' | 'snapshot' | 'writable';

export interface FilesDeps {
  paths: MoatPaths;
  tools: () => UsernsTools;
}

export interface FilesWorker {
  /** The worker's data (a tar), for the ops that write one. */
  stdout: Readable;
  /** What the path is (archive): before the first byte of data; rejects if the worker fails first. */
  stat: Promise<PathStat>;
  /** The worker's result; rejects with its error. */
  done: Promise<unknown>;
  kill(): void;
}

const MOUNT = 'mount -t overlay overlay -o "$1" "$2" || exit 125; shift 2; exec "$@"';

function overlayOptions(paths: MoatPaths, rec: ContainerRecord, view: 'snapshot' | 'writable'): string {
  const d = containerDirs(paths, rec.id);
  for (const p of [rec.lowerdir, d.upper, d.work]) {
    if (/[,:\n]/.test(p))
      throw new RuntimeError(
        'RUNTIME_COPY_FAILED',
        `path ${p} contains a character overlayfs options cannot carry (, or :)`,
        {
          hint: 'set XDG_DATA_HOME to a path without commas or colons',
        },
      );
  }
  return view === 'snapshot'
    ? `ro,lowerdir=${d.upper}:${rec.lowerdir},userxattr`
    : `lowerdir=${rec.lowerdir},upperdir=${d.upper},workdir=${d.work},userxattr`;
}

/** The worker's argv and request for a view of `rec`. */
export function workerLaunch(
  deps: FilesDeps,
  rec: ContainerRecord,
  view: FilesView,
  op: WorkerOp,
): { argv: string[]; request: WorkerRequest } {
  const tools = deps.tools();
  const asRoot = tools.callerUid === 0;
  const node = [process.execPath, WORKER];
  const ids = asRoot ? { ids: { uidMap: tools.maps.uidMap, gidMap: tools.maps.gidMap } } : {};
  if (view === 'live') {
    if (rec.status !== 'running' || !rec.pid)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} is not running`);
    const root = `/proc/${rec.pid}/root`;
    return { argv: asRoot ? node : nsenterArgv(tools, rec.pid, node), request: { root, op, ...ids } };
  }
  const mnt = containerDirs(deps.paths, rec.id).rootfs;
  const wrapped = ['sh', '-c', MOUNT, 'moat-files', overlayOptions(deps.paths, rec, view), mnt, ...node];
  const argv = asRoot
    ? ['unshare', '--mount', '--propagation', 'private', '--', ...wrapped]
    : unshareArgv(tools, wrapped, { mount: true });
  return { argv, request: { root: mnt, op, ...ids } };
}

interface ControlLine {
  stat?: PathStat;
  ok?: boolean;
  result?: unknown;
  error?: { code: string; message: string; hint?: string };
}

export function startFilesWorker(
  deps: FilesDeps,
  rec: ContainerRecord,
  view: FilesView,
  op: WorkerOp,
  input?: Readable,
): FilesWorker {
  const { argv, request } = workerLaunch(deps, rec, view, op);
  return spawnWorker(argv, request, `container ${rec.name}`, input);
}

/**
 * A worker on a plain directory of moat's own (a volume, an image's unpacked root) as the
 * container's users see it: in a fresh user namespace with the container's mapping (root: outside,
 * translating owners), with no mount of its own.
 */
export function startDirWorker(
  deps: Pick<FilesDeps, 'tools'>,
  root: string,
  what: string,
  op: WorkerOp,
  input?: Readable,
): FilesWorker {
  const tools = deps.tools();
  const node = [process.execPath, WORKER];
  const asRoot = tools.callerUid === 0;
  const request: WorkerRequest = {
    root,
    op,
    ...(asRoot ? { ids: { uidMap: tools.maps.uidMap, gidMap: tools.maps.gidMap } } : {}),
  };
  return spawnWorker(asRoot ? node : unshareArgv(tools, node), request, what, input);
}

function spawnWorker(argv: string[], request: WorkerRequest, what: string, input?: Readable): FilesWorker {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const stdin = child.stdin!;
  const stdout = child.stdout!;
  const control = child.stdio[3] as Readable;
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString();
  });
  stdin.on('error', () => {});
  stdin.write(JSON.stringify(request) + '\n');
  if (input) {
    input.on('error', () => child.kill('SIGKILL'));
    input.pipe(stdin);
  } else {
    stdin.end();
  }
  let last: ControlLine | undefined;
  let resolveStat: (s: PathStat) => void = () => {};
  let rejectStat: (e: unknown) => void = () => {};
  const stat = new Promise<PathStat>((resolve, reject) => {
    resolveStat = resolve;
    rejectStat = reject;
  });
  stat.catch(() => {});
  const lines = createInterface({ input: control });
  lines.on('line', (l) => {
    let v: ControlLine;
    try {
      v = JSON.parse(l) as ControlLine;
    } catch {
      return;
    }
    if (v.stat) resolveStat(v.stat);
    else last = v;
  });
  const done = new Promise<unknown>((resolve, reject) => {
    child.on('error', (e) =>
      reject(new RuntimeError('RUNTIME_COPY_FAILED', `could not start ${argv[0]}: ${e.message}`)),
    );
    child.on('close', (code) => {
      // The control lines are read to their end before the result is taken.
      const finish = () => {
        input?.unpipe(stdin);
        if (last?.ok) return resolve(last.result);
        const e = last?.error
          ? new MoatError(
              last.error.code,
              last.error.message,
              last.error.hint ? { hint: last.error.hint } : {},
            )
          : new RuntimeError(
              'RUNTIME_COPY_FAILED',
              `could not reach the files of ${what}${code === 125 ? ' (mounting its overlay failed)' : ''}: ${stderr.trim() || `exit status ${code}`}`,
            );
        reject(e);
      };
      if (control.readableEnded) finish();
      else lines.once('close', finish);
    });
  });
  done.then(
    () => rejectStat(new RuntimeError('RUNTIME_COPY_FAILED', 'the files worker said nothing about the path')),
    (e: unknown) => rejectStat(e),
  );
  return { stdout, stat, done, kill: () => child.kill('SIGKILL') };
}

/** Run an op that writes no data to completion; its result. */
export async function filesOp(
  deps: FilesDeps,
  rec: ContainerRecord,
  view: FilesView,
  op: WorkerOp,
): Promise<unknown> {
  const w = startFilesWorker(deps, rec, view, op);
  w.stdout.resume();
  return w.done;
}
