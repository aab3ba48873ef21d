import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  statSync,
  type Stats,
} from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
// Leaf modules (they import nothing but ../errors.js): these checks report their rooms' codes.
import { ApiError } from '../api/errors.js';
import { RuntimeError } from '../runtime/errors.js';

/** Where moat keeps its files. Everything derives from a few roots so tests can point them elsewhere. */
export interface MoatPaths {
  /** `$XDG_DATA_HOME/moat`: images and containers (persistent). */
  data: string;
  /**
   * `$XDG_RUNTIME_DIR/moat` when that directory is the user's own (mode 0700), else
   * `$XDG_CACHE_HOME/moat/run` (`~/.cache/moat/run`); `/run/moat` for root. runc state, locks and
   * the API socket. Never a shared path such as `/tmp/moat-run-<uid>`, which another user could
   * create first or point elsewhere.
   */
  runtime: string;
  storage: string;
  containers: string;
  runcRoot: string;
  locks: string;
}

/** sun_path is 108 bytes with its terminating NUL: a longer socket path cannot be bound. */
export const MAX_SOCKET_PATH = 107;

const uidOf = () => process.getuid?.() ?? 0;

/** A directory only `uid` can use: a real directory (not a symlink), owned by uid, closed to others. */
function privateDir(st: Stats, uid: number, others = 0o077): boolean {
  return st.isDirectory() && !st.isSymbolicLink() && st.uid === uid && (st.mode & others) === 0;
}

function absolute(v: string | undefined): string | undefined {
  return v && path.isAbsolute(v) ? v : undefined;
}

/**
 * The runtime directory. `$XDG_RUNTIME_DIR` is used only when it is a real directory owned by
 * the user with mode 0700 (what pam_systemd makes); otherwise a directory under the user's own
 * cache, which no other user can create first. Root's containers run as a subordinate user that
 * must pass through it to runc's state: root uses `$XDG_RUNTIME_DIR` only when others may search
 * it but neither list nor write it (0711; pam_systemd's /run/user/0 is 0700), else /run/moat.
 */
function runtimeDir(env: NodeJS.ProcessEnv, uid: number, home: string): string {
  const xdg = absolute(env.XDG_RUNTIME_DIR);
  if (xdg) {
    try {
      const st = lstatSync(xdg);
      if (uid !== 0 && privateDir(st, uid)) return path.join(xdg, 'moat');
      if (uid === 0 && privateDir(st, 0, 0o066) && st.mode & 0o001) return path.join(xdg, 'moat');
    } catch {
      /* missing: fall back */
    }
  }
  if (uid === 0) return '/run/moat';
  return path.join(absolute(env.XDG_CACHE_HOME) ?? path.join(home, '.cache'), 'moat', 'run');
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): MoatPaths {
  const uid = uidOf();
  const home = env.HOME || homedir();
  const xdgData = absolute(env.XDG_DATA_HOME);
  // Root's containers run as a subordinate user that must reach moat's files: root keeps them
  // in system directories (like podman's /var/lib/containers), not under /root (mode 0700).
  const data =
    uid === 0 && !xdgData
      ? '/var/lib/moat'
      : path.join(xdgData ?? path.join(home, '.local', 'share'), 'moat');
  const runtime = runtimeDir(env, uid, home);
  return {
    data,
    runtime,
    storage: path.join(data, 'storage'),
    containers: path.join(data, 'containers'),
    runcRoot: path.join(runtime, 'runc'),
    locks: path.join(runtime, 'locks'),
  };
}

/** `$XDG_CONFIG_HOME/moat`: policies, registries, credentials. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(absolute(env.XDG_CONFIG_HOME) ?? path.join(env.HOME || homedir(), '.config'), 'moat');
}

/** Where `moat system service` listens by default (what DOCKER_HOST names). */
export function defaultSocket(p: MoatPaths): string {
  return path.join(p.runtime, 'moat.sock');
}

/** Refuse a socket path the kernel cannot bind (longer than sun_path), with what to do instead. */
export function checkSocketPath(socket: string, what = 'the API socket'): void {
  const n = Buffer.byteLength(socket);
  if (n > MAX_SOCKET_PATH) {
    throw new ApiError(
      'API_SOCKET_PATH_TOO_LONG',
      `${what} ${socket} is ${n} bytes long; a unix socket path can have at most ${MAX_SOCKET_PATH}`,
      {
        hint: 'set XDG_RUNTIME_DIR to a short private directory (mode 0700), or pass --socket with a shorter path',
      },
    );
  }
}

/** The host IDs that are container root, for root's containers (see ensureDirs). */
export interface ContainerRoot {
  uid: number;
  gid: number;
}

/**
 * Create moat's directories with exactly these modes, whatever the umask, and refuse a runtime
 * dir that is not the user's own (a symlink, another owner, open to others).
 *
 * An ordinary user: data, storage, `storage/rootfs`, containers and runtime are 0700, the user's
 * alone. Root (`containerRoot` given: the host IDs container root is, the start of root's
 * subordinate range): they belong to root with container root's group, mode 0710. Root's
 * containers run as that subordinate user (the launcher, the overlay mount, runc), which may pass
 * through them to its own files but not list them; every other local user is shut out, as with
 * podman's 0700 /var/lib/containers/storage. runc's state directory belongs to container root.
 */
export function ensureDirs(p: MoatPaths, containerRoot?: ContainerRoot): void {
  const uid = uidOf();
  const mode = containerRoot ? 0o710 : 0o700;
  for (const d of [p.data, p.storage, path.join(p.storage, 'rootfs'), p.containers]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    // A symlink to a directory of the user's is fine (data moved to another disk).
    const st = statSync(d);
    if (!st.isDirectory() || st.uid !== uid) {
      throw new RuntimeError('RUNTIME_UNSAFE_DIR', `${d} is not a directory of uid ${uid}`, {
        hint: 'remove it, or set XDG_DATA_HOME to a directory of your own',
      });
    }
    if (containerRoot) chownSync(d, uid, containerRoot.gid);
    chmodSync(d, mode);
  }
  // The image store's blobs and records are its owner's alone, container root included (root
  // unpacks images itself); a store made by an older moat (0755, 0644) is closed here too.
  for (const d of [
    path.join(p.storage, 'blobs'),
    path.join(p.storage, 'blobs', 'sha256'),
    path.join(p.storage, 'tmp'),
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  if (existsSync(path.join(p.storage, 'images.json'))) chmodSync(path.join(p.storage, 'images.json'), 0o600);
  mkdirSync(p.runtime, { recursive: true, mode: 0o700 });
  let ok = false;
  try {
    ok = privateDir(lstatSync(p.runtime), uid, containerRoot ? 0o066 : 0o077);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new RuntimeError(
      'RUNTIME_UNSAFE_DIR',
      `runtime directory ${p.runtime} is not a private directory of uid ${uid} (a symlink, another owner, or open to others)`,
      { hint: 'remove it, or set XDG_RUNTIME_DIR to a directory only you can use (mode 0700)' },
    );
  }
  if (containerRoot) {
    lchownSync(p.runtime, uid, containerRoot.gid);
    chmodSync(p.runtime, mode);
  }
  mkdirSync(p.runcRoot, { recursive: true, mode: 0o700 });
  if (containerRoot) lchownSync(p.runcRoot, containerRoot.uid, containerRoot.gid);
  mkdirSync(p.locks, { recursive: true, mode: 0o700 });
}
