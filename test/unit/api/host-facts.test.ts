/** Host paths as the policy sees them: canonical as the kernel resolves them, and moat's protected set. */
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canonicalPath,
  hostPath,
  protectedPaths,
  protectServiceSocket,
} from '../../../src/api/host-facts.js';
import type { MoatPaths } from '../../../src/util/paths.js';

const base = () => realpathSync(mkdtempSync(path.join(tmpdir(), 'moat-hostfacts-')));

describe('canonicalPath', () => {
  it('resolves what text comparison gets wrong', () => {
    expect(canonicalPath('//etc')).toBe('/etc');
    expect(canonicalPath('/./proc')).toBe('/proc');
    expect(canonicalPath('/tmp/../proc')).toBe('/proc');
    expect(canonicalPath('/.')).toBe('/');
    expect(canonicalPath('/etc/')).toBe('/etc');
  });

  it('follows symlinks as the kernel does: link/.. is the parent of the target, not of the link', () => {
    const b = base();
    mkdirSync(path.join(b, 'home', 'src'), { recursive: true });
    symlinkSync('/proc/self', path.join(b, 'home', 'link'));
    symlinkSync('/proc', path.join(b, 'home', 'proc'));
    expect(canonicalPath(path.join(b, 'home', 'proc'))).toBe('/proc');
    // Textually home/link/.. is home; the kernel reads it as the parent of /proc/<pid>: /proc.
    expect(canonicalPath(path.join(b, 'home', 'link') + '/..')).toBe('/proc');
    expect(canonicalPath(path.join(b, 'home', 'src'))).toBe(path.join(b, 'home', 'src'));
  });

  it('a path that does not exist: its existing prefix resolved, the rest as text (no error)', () => {
    const b = base();
    symlinkSync('/proc', path.join(b, 'p'));
    expect(canonicalPath(path.join(b, 'p', 'nope', '..', 'x'))).toBe('/proc/x');
    expect(canonicalPath(path.join(b, 'missing', 'a'))).toBe(path.join(b, 'missing', 'a'));
    expect(canonicalPath('rel/x', b)).toBe(path.join(b, 'rel', 'x'));
  });

  it('hostPath keeps the raw text beside the canonical path', () => {
    expect(hostPath('//etc/', 'mount', true)).toEqual({
      path: '/etc',
      raw: '//etc/',
      use: 'mount',
      readonly: true,
    });
    expect(hostPath('/tmp/../proc', 'read')).toEqual({ path: '/proc', raw: '/tmp/../proc', use: 'read' });
  });
});

describe('protectedPaths', () => {
  it("protects moat's runtime, data and config directories, its sockets and policy, canonical", () => {
    const b = base();
    const real = path.join(b, 'real-data');
    mkdirSync(real);
    symlinkSync(real, path.join(b, 'data'));
    const paths = {
      data: path.join(b, 'data', 'moat'),
      runtime: path.join(b, 'run', 'moat'),
    } as MoatPaths;
    mkdirSync(path.join(b, 'run'));
    protectServiceSocket(path.join(b, 'custom.sock'));
    const p = protectedPaths(paths, [path.join(b, 'policy')], {
      HOME: b,
      XDG_CONFIG_HOME: path.join(b, 'cfg'),
      XDG_RUNTIME_DIR: path.join(b, 'run'),
      DOCKER_HOST: `unix://${path.join(b, 'run')}`,
    });
    for (const want of [
      path.join(b, 'run', 'moat'),
      path.join(b, 'run', 'moat', 'moat.sock'),
      path.join(b, 'custom.sock'),
      path.join(b, 'data', 'moat'),
      path.join(real, 'moat'), // as the kernel resolves it
      path.join(b, 'cfg', 'moat'),
      path.join(b, 'policy'),
    ])
      expect(p.protected_paths, want).toContain(want);
    // Parents: of the runtime directory and sockets, any mount; of state, read-write ones.
    expect(p.protected_parents).toContain(path.join(b, 'run', 'moat'));
    expect(p.protected_parents).toContain(path.join(b, 'custom.sock'));
    expect(p.protected_parents).not.toContain(path.join(b, 'data', 'moat'));
    expect(p.protected_parents_rw).toContain(path.join(real, 'moat'));
    expect(p.protected_parents_rw).toContain(path.join(b, 'cfg', 'moat'));
    // DOCKER_HOST names an existing path here: protected; engines' paths that do not exist are not listed.
    expect(p.protected_paths).toContain(path.join(b, 'run'));
    expect(p.protected_paths).not.toContain(path.join(b, 'run', 'podman'));
  });

  it('an engine without directories gives no paths of its own, and does not throw', () => {
    const p = protectedPaths({} as MoatPaths, [], { HOME: '/nonexistent' });
    expect(p.protected_paths).toContain('/nonexistent/.config/moat');
    expect(p.protected_parents_rw).toEqual(['/nonexistent/.config/moat']);
  });
});
