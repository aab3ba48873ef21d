import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { MoatError } from '../errors.js';

/** Where moat keeps its files. Everything derives from two roots so tests can point them elsewhere. */
export interface MoatPaths {
  /** `$XDG_DATA_HOME/moat`: images and containers (persistent). */
  data: string;
  /** `$XDG_RUNTIME_DIR/moat` (or `/tmp/moat-run-<uid>`): runc state and locks (gone after reboot). */
  runtime: string;
  storage: string;
  containers: string;
  runcRoot: string;
  locks: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): MoatPaths {
  const uid = process.getuid?.() ?? 0;
  const hasData = Boolean(env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME));
  // Root's containers run as a subordinate user that must reach moat's files: root keeps them
  // in system directories (like podman's /var/lib/containers), not under /root (mode 0700).
  const data =
    uid === 0 && !hasData
      ? '/var/lib/moat'
      : path.join(hasData ? env.XDG_DATA_HOME! : path.join(env.HOME || homedir(), '.local', 'share'), 'moat');
  let runtimeBase = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : '';
  let runtime = runtimeBase
    ? path.join(runtimeBase, 'moat')
    : uid === 0
      ? '/run/moat'
      : path.join(tmpdir(), `moat-run-${uid}`);
  if (runtimeBase) {
    try {
      const st = statSync(runtimeBase);
      if (st.uid !== uid) runtimeBase = '';
    } catch {
      runtimeBase = '';
    }
    if (!runtimeBase) runtime = path.join(tmpdir(), `moat-run-${uid}`);
  }
  return {
    data,
    runtime,
    storage: path.join(data, 'storage'),
    containers: path.join(data, 'containers'),
    runcRoot: path.join(runtime, 'runc'),
    locks: path.join(runtime, 'locks'),
  };
}

/**
 * Create moat's private directories (0700) and refuse a runtime dir owned by someone else. For
 * root (`containerRoot` given: the host IDs container root is), the directories are 0711 so the
 * container's user can traverse to its own files, and runc's state directory belongs to it.
 */
export function ensureDirs(p: MoatPaths, containerRoot?: { uid: number; gid: number }): void {
  const mode = containerRoot ? 0o711 : 0o700;
  for (const d of [p.data, p.storage, p.containers, p.runtime]) {
    mkdirSync(d, { recursive: true, mode });
    if (containerRoot) chmodSync(d, mode);
  }
  const st = statSync(p.runtime);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid || (st.mode & (containerRoot ? 0o066 : 0o077)) !== 0) {
    throw new MoatError('RUNTIME_UNSAFE_DIR', `runtime directory ${p.runtime} is not private to uid ${uid}`, {
      hint: 'remove it or set XDG_RUNTIME_DIR to a directory only you can write',
    });
  }
  mkdirSync(p.runcRoot, { recursive: true, mode: 0o700 });
  if (containerRoot) chownSync(p.runcRoot, containerRoot.uid, containerRoot.gid);
  mkdirSync(p.locks, { recursive: true, mode: 0o700 });
}
