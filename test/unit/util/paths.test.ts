/** Where moat keeps its files: the runtime directory is the user's own, never a shared /tmp path. */
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkSocketPath,
  configDir,
  defaultSocket,
  ensureDirs,
  MAX_SOCKET_PATH,
  resolvePaths,
} from '../../../src/util/paths.js';

const root = process.getuid?.() === 0;

function home(): string {
  const h = mkdtempSync(path.join(tmpdir(), 'moat-paths-'));
  chmodSync(h, 0o700);
  return h;
}

describe('resolvePaths: the runtime directory', () => {
  it('uses $XDG_RUNTIME_DIR when it is a private directory of the user', () => {
    const h = home();
    const xdg = path.join(h, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    const p = resolvePaths({ HOME: h, XDG_RUNTIME_DIR: xdg, XDG_DATA_HOME: path.join(h, 'data') });
    if (root) {
      // Root's containers (a subordinate user) must pass through it: 0711, not 0700.
      expect(p.runtime).toBe('/run/moat');
      chmodSync(xdg, 0o711);
      expect(resolvePaths({ HOME: h, XDG_RUNTIME_DIR: xdg }).runtime).toBe(path.join(xdg, 'moat'));
      return;
    }
    expect(p.runtime).toBe(path.join(xdg, 'moat'));
    expect(defaultSocket(p)).toBe(path.join(xdg, 'moat', 'moat.sock'));
  });

  it('never falls back to a shared /tmp path: missing, open to others or a symlink → the user cache', () => {
    const h = home();
    const open = path.join(h, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    const priv = path.join(h, 'private');
    mkdirSync(priv, { mode: 0o700 });
    const link = path.join(h, 'link');
    symlinkSync(priv, link);
    const fallback = root ? '/run/moat' : path.join(h, '.cache', 'moat', 'run');
    for (const xdg of [undefined, path.join(h, 'missing'), open, link, 'relative']) {
      const p = resolvePaths({ HOME: h, XDG_RUNTIME_DIR: xdg, XDG_DATA_HOME: path.join(h, 'data') });
      expect(p.runtime, String(xdg)).toBe(fallback);
      expect(p.runtime.startsWith(`${tmpdir()}/moat-run-`)).toBe(false);
    }
    if (!root) {
      const cache = path.join(h, 'cache');
      expect(resolvePaths({ HOME: h, XDG_CACHE_HOME: cache }).runtime).toBe(path.join(cache, 'moat', 'run'));
    }
  });

  it('config: $XDG_CONFIG_HOME/moat, else ~/.config/moat', () => {
    expect(configDir({ HOME: '/home/a', XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/moat');
    expect(configDir({ HOME: '/home/a', XDG_CONFIG_HOME: 'rel' })).toBe('/home/a/.config/moat');
  });
});

describe('ensureDirs', () => {
  it('makes the fallback runtime directory 0700 and refuses one that is a symlink or open to others', () => {
    const h = home();
    const resolved = resolvePaths({
      HOME: h,
      XDG_DATA_HOME: path.join(h, 'data'),
      XDG_CACHE_HOME: path.join(h, 'c'),
    });
    // Root's fallback is /run/moat, a system directory: the checks are the same on another path.
    const runtime = path.join(h, 'c', 'moat', 'run');
    if (!root) expect(resolved.runtime).toBe(runtime);
    const p = {
      ...resolved,
      runtime,
      runcRoot: path.join(runtime, 'runc'),
      locks: path.join(runtime, 'locks'),
    };
    ensureDirs(p);
    chmodSync(p.runtime, 0o755);
    expect(() => ensureDirs(p)).toThrow(expect.objectContaining({ code: 'RUNTIME_UNSAFE_DIR' }));
    const other = path.join(h, 'elsewhere');
    mkdirSync(other, { mode: 0o700 });
    const q = { ...p, runtime: path.join(h, 'runlink') };
    symlinkSync(other, q.runtime);
    expect(() =>
      ensureDirs({ ...q, runcRoot: path.join(q.runtime, 'runc'), locks: path.join(q.runtime, 'locks') }),
    ).toThrow(expect.objectContaining({ code: 'RUNTIME_UNSAFE_DIR' }));
  });
});

describe('checkSocketPath', () => {
  it('refuses a path longer than sun_path with a clear error', () => {
    expect(() => checkSocketPath('/' + 'a'.repeat(MAX_SOCKET_PATH - 1))).not.toThrow();
    expect(() => checkSocketPath('/' + 'a'.repeat(MAX_SOCKET_PATH))).toThrow(
      expect.objectContaining({ code: 'API_SOCKET_PATH_TOO_LONG' }),
    );
  });
});
