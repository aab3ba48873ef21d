/**
 * Host paths a container uses, pinned to what the policy saw. The policy judges a bind mount's
 * canonical source (realpath, see util/canonical-path.ts); runc, given a path, resolves it again
 * when it mounts, so a directory swapped for a symlink between `create` and `start` would be
 * mounted as whatever it points to then. So:
 *
 *   - at create (after the allow), each source is opened without following it (O_PATH |
 *     O_NOFOLLOW) and the path the kernel reached (/proc/self/fd) must be the canonical path
 *     itself: no component was swapped since the decision. Its device and inode are recorded;
 *   - at every start, the same again, and the device and inode must be the recorded ones;
 *   - then the launcher, inside the container's own mount namespace, bind-mounts each source on
 *     a private staging point and checks that what it mounted is that device and inode, and runc
 *     mounts the staging point (a path in moat's own directory), not the user's path. What runc
 *     mounts is what was checked, whatever happens to the user's path meanwhile.
 *
 * A custom seccomp profile is read once, at create, and embedded in the spec: a file swapped
 * later changes nothing. For a remote subject it is read only after the allow (facts are reads
 * of nothing a remote subject names), through the same no-swap open.
 */
import {
  chmodSync,
  closeSync,
  constants as C,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  lchownSync,
  writeFileSync,
  type BigIntStats,
} from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors.js';
import { RuntimeError } from './errors.js';
import type { OciSpec } from './oci.js';
import { containerDirs, type ContainerRecord } from './state.js';
import type { MoatPaths } from '../util/paths.js';

/** O_PATH: Node does not export it; this is its value on every Linux architecture Node runs on. */
const O_PATH = (C as Record<string, number>).O_PATH ?? 0o10000000;

/** A bind mount's source as recorded at create: what every start must find again. */
export interface HostPathPin {
  /** Canonical path (the spec's mount source). */
  source: string;
  /** The mount's destination in the container (which of the spec's mounts it is). */
  destination: string;
  /** st_dev and st_ino, as decimal strings (a dev_t may not fit a double). */
  dev: string;
  ino: string;
  kind: 'directory' | 'file' | 'other';
}

type Found =
  | { ok: true; dev: string; ino: string; kind: HostPathPin['kind'] }
  | { ok: false; why: 'missing' | 'swapped' | 'unreadable'; detail?: string };

function kindOf(st: BigIntStats): HostPathPin['kind'] {
  return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
}

/** What is at `p` now, reached without following any symlink in it. */
export function identify(p: string): Found {
  let fd: number;
  try {
    fd = openSync(p, O_PATH | C.O_NOFOLLOW);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') return { ok: false, why: 'missing' };
    // A component that is no longer a directory: swapped for a file (or a symlink to one).
    if (code === 'ENOTDIR' || code === 'ELOOP') return { ok: false, why: 'swapped' };
    return { ok: false, why: 'unreadable', detail: (e as Error).message };
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    // The path the kernel reached: another one when a component on the way was a symlink.
    const at = readlinkSync(`/proc/self/fd/${fd}`);
    if (st.isSymbolicLink() || at !== p) return { ok: false, why: 'swapped' };
    return { ok: true, dev: String(st.dev), ino: String(st.ino), kind: kindOf(st) };
  } finally {
    closeSync(fd);
  }
}

/** The error for a host path that is not what it was: `what` names it, `since` says when that was. */
export function hostPathChanged(what: string, p: string, since: string, how: string): RuntimeError {
  return new RuntimeError('RUNTIME_HOST_PATH_CHANGED', `${what} ${p} changed since ${since}: ${how}`, {
    details: { path: p },
  });
}

const HOW: Record<'missing' | 'swapped' | 'replaced', string> = {
  missing: 'it is gone',
  swapped: 'it, or a directory above it, is now a symlink (or no longer a directory)',
  replaced: 'another file or directory is there now',
};

/**
 * Pin the bind-mount sources of a plan about to be committed: each must exist and be reached at
 * its canonical path without a symlink (the policy judged that path a moment ago).
 */
export function pinMounts(mounts: readonly { source: string; destination: string }[]): HostPathPin[] {
  return mounts.map((m) => {
    const f = identify(m.source);
    if (f.ok) return { source: m.source, destination: m.destination, dev: f.dev, ino: f.ino, kind: f.kind };
    if (f.why === 'missing')
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `volume source ${m.source} does not exist`, {
        hint: 'create it first; moat does not create host directories',
      });
    if (f.why === 'unreadable')
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `volume source ${m.source}: ${f.detail}`);
    throw hostPathChanged('mount source', m.source, 'the policy decided', HOW.swapped);
  });
}

/** Every pinned source is still the same file or directory at the same path (at a start). */
export function checkPins(pins: readonly HostPathPin[]): void {
  for (const pin of pins) {
    const f = identify(pin.source);
    const since = 'the container was created';
    if (!f.ok)
      throw hostPathChanged(
        'mount source',
        pin.source,
        since,
        f.why === 'unreadable' ? `it cannot be opened (${f.detail})` : HOW[f.why],
      );
    if (f.dev !== pin.dev || f.ino !== pin.ino || f.kind !== pin.kind)
      throw hostPathChanged('mount source', pin.source, since, HOW.replaced);
  }
}

const MAX_PROFILE_BYTES = 4 << 20;

/**
 * Read a file a request names (a seccomp profile): its bytes and the canonical path of the file
 * actually read (the kernel's, from the open descriptor, so the path and the bytes cannot come
 * from two different files). `exact`: `p` is canonical already (the policy judged it) and must be
 * reached as it is, without a symlink; otherwise `p` is resolved as the kernel resolves it.
 * Throws the errno error of a failed open or read; only regular files are read.
 */
export function readHostFile(p: string, exact: boolean): { bytes: Buffer; path: string } {
  const fd = openSync(p, C.O_RDONLY | C.O_NONBLOCK | (exact ? C.O_NOFOLLOW : 0));
  try {
    const at = readlinkSync(`/proc/self/fd/${fd}`);
    if (exact && at !== p) throw hostPathChanged('file', p, 'the policy decided', HOW.swapped);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_PROFILE_BYTES) throw new Error(`larger than ${MAX_PROFILE_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return { bytes: buf.subarray(0, n), path: at };
  } finally {
    closeSync(fd);
  }
}

/** One staged source for the launcher: mount `source` on `stage`, which must then be `id`. */
export interface StagedMount {
  source: string;
  stage: string;
  /** `dev:ino`, as `stat -c %d:%i` prints them. */
  id: string;
}

/**
 * The spec runc is given at a start: the stored one with each pinned bind mount's source
 * replaced by its staging point (`<stageDir>/<n>`). Pure.
 */
export function stagedSpec(
  spec: OciSpec,
  pins: readonly HostPathPin[],
  stageDir: string,
): { spec: OciSpec; staged: StagedMount[] } {
  const mounts = (spec.mounts ?? []).map((m) => ({ ...m }));
  const staged = pins.map((pin, n) => {
    const m = mounts.find(
      (x) => x.type === 'bind' && x.destination === pin.destination && x.source === pin.source,
    );
    if (!m)
      throw new RuntimeError(
        'RUNTIME_CORRUPT_STATE',
        `the container's spec has no bind mount of ${pin.source} on ${pin.destination}, which its record pins`,
      );
    m.source = path.join(stageDir, String(n));
    return { source: pin.source, stage: m.source, id: `${pin.dev}:${pin.ino}` };
  });
  return { spec: { ...spec, mounts }, staged };
}

/**
 * Before the launcher starts: check the record's pins, make the staging points and write the
 * spec runc is given (see above). Returns the bundle to run and the mounts to stage; a container
 * without pinned mounts runs its own bundle. `owner`: for root, container root (the launcher runs
 * as it): it may pass through these directories and read the spec (group), never replace them.
 */
export function prepareHostPaths(
  paths: MoatPaths,
  rec: ContainerRecord,
  owner?: { uid: number; gid: number },
): { bundle: string; staged: StagedMount[] } {
  const d = containerDirs(paths, rec.id);
  const pins = rec.hostPaths ?? [];
  if (pins.length === 0) return { bundle: d.bundle, staged: [] };
  checkPins(pins);
  const stageDir = path.join(d.dir, 'mounts');
  // Inside the bundle directory: tools that find a container's processes look for `<id>/bundle`.
  const runBundle = path.join(d.bundle, 'staged');
  const spec = JSON.parse(readFileSync(path.join(d.bundle, 'config.json'), 'utf8')) as OciSpec;
  const out = stagedSpec(spec, pins, stageDir);
  const config = path.join(runBundle, 'config.json');
  // Made again at each start (moat's own: whatever was there goes).
  rmSync(config, { force: true });
  const settle = (p: string, mode: number) => {
    if (owner) lchownSync(p, process.getuid?.() ?? 0, owner.gid);
    chmodSync(p, owner ? mode : mode & 0o700);
  };
  for (const dir of [stageDir, runBundle]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    settle(dir, 0o710);
  }
  pins.forEach((pin, n) => {
    const stage = path.join(stageDir, String(n));
    // A mount point of the same kind as its source (a file is mounted on a file).
    if (pin.kind === 'directory') mkdirSync(stage, { recursive: true, mode: 0o700 });
    else writeFileSync(stage, '', { flag: 'a', mode: 0o600 });
  });
  writeFileSync(config, JSON.stringify(out.spec), { mode: 0o600, flag: 'wx' });
  settle(config, 0o640);
  return { bundle: runBundle, staged: out.staged };
}

/** The launcher's report that staged mount `n` was not what was checked (see runc.ts LAUNCHER). */
export const STAGE_FAILED = /^moat: staged mount (\d+) changed$/;

/** The launcher's report as the error a user reads (or undefined when it is not one). */
export function stageFailure(runcError: string, staged: readonly StagedMount[]): string | undefined {
  const m = STAGE_FAILED.exec(runcError);
  const s = m ? staged[Number(m[1])] : undefined;
  if (!s) return undefined;
  return hostPathChanged('mount source', s.source, 'the container was created', HOW.replaced).message;
}
