import { mkdirSync, statSync } from 'node:fs';
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
  const dataHome =
    env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)
      ? env.XDG_DATA_HOME
      : path.join(env.HOME || homedir(), '.local', 'share');
  const data = path.join(dataHome, 'moat');
  let runtimeBase = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : '';
  let runtime = runtimeBase ? path.join(runtimeBase, 'moat') : path.join(tmpdir(), `moat-run-${uid}`);
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

/** Create moat's private directories (0700) and refuse a runtime dir owned by someone else. */
export function ensureDirs(p: MoatPaths): void {
  for (const d of [p.data, p.storage, p.containers]) mkdirSync(d, { recursive: true, mode: 0o700 });
  mkdirSync(p.runtime, { recursive: true, mode: 0o700 });
  const st = statSync(p.runtime);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new MoatError('RUNTIME_UNSAFE_DIR', `runtime directory ${p.runtime} is not private to uid ${uid}`, {
      hint: 'remove it or set XDG_RUNTIME_DIR to a directory only you can write',
    });
  }
  mkdirSync(p.runcRoot, { recursive: true, mode: 0o700 });
  mkdirSync(p.locks, { recursive: true, mode: 0o700 });
}
