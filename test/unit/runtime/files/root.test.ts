/**
 * Paths in a container resolve inside its root, never on the host: absolute symlinks start at the
 * container's root, `..` stops there, loops end. Each test names a host file the resolution would
 * reach if it followed a symlink the way the kernel does from the host.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, FdRoot } from '../../../../src/runtime/files/root.js';

const base = mkdtempSync(path.join(tmpdir(), 'moat-fdroot-'));
const outside = path.join(base, 'outside');
const rootDir = path.join(base, 'root');
let root: FdRoot;

beforeAll(() => {
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret'), 'HOST');
  mkdirSync(path.join(rootDir, 'etc'), { recursive: true });
  writeFileSync(path.join(rootDir, 'etc', 'secret'), 'ROOT');
  mkdirSync(path.join(rootDir, 'a', 'b'), { recursive: true });
  symlinkSync('/etc', path.join(rootDir, 'abs'));
  symlinkSync(outside, path.join(rootDir, 'host')); // an absolute host path
  symlinkSync('../../../../../../../../etc', path.join(rootDir, 'a', 'b', 'dots'));
  symlinkSync(path.join(outside, 'secret'), path.join(rootDir, 'file-link'));
  symlinkSync('loop2', path.join(rootDir, 'loop1'));
  symlinkSync('loop1', path.join(rootDir, 'loop2'));
  symlinkSync('/', path.join(rootDir, 'slash'));
  root = new FdRoot(rootDir);
});
afterAll(() => {
  root.close();
  rmSync(base, { recursive: true, force: true });
});

/** The text of the file `p` resolves to, read through the descriptor the walk returned. */
function read(p: string): string {
  const r = root.resolve(p, { followLast: true });
  try {
    if (!r.st) return '(missing)';
    return readFileSync(at(r.dir, r.name), 'utf8');
  } finally {
    r.close();
  }
}

function code(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
  return undefined;
}

describe('FdRoot.resolve', () => {
  it('resolves an absolute symlink from the container root, not the host root', () => {
    expect(read('/abs/secret')).toBe('ROOT');
    expect(root.resolve('/abs/secret', { followLast: true }).path).toBe('/etc/secret');
  });

  it('does not reach a host directory named by an absolute symlink', () => {
    // From the host, /root/host/secret is the host's file: inside the root, it names nothing.
    expect(code(() => read('/host/secret'))).toBe('RUNTIME_PATH_NOT_FOUND');
    expect(code(() => read('/file-link'))).toBe('RUNTIME_PATH_NOT_FOUND');
  });

  it('stops `..` at the root, in a path and in a symlink target', () => {
    expect(read('/../../../../etc/secret')).toBe('ROOT');
    expect(read('/a/b/../../../../etc/secret')).toBe('ROOT');
    expect(read('/a/b/dots/secret')).toBe('ROOT');
    expect(root.resolve('/a/b/dots/secret', { followLast: true }).path).toBe('/etc/secret');
    // `outside` is the root's sibling on the host: `..` from the root never gets there
    expect(code(() => read('/../outside/secret'))).toBe('RUNTIME_PATH_NOT_FOUND');
  });

  it('leaves the last symlink alone unless asked', () => {
    const r = root.resolve('/abs', { followLast: false });
    expect(r.st?.isSymbolicLink()).toBe(true);
    expect(r.name).toBe('abs');
    r.close();
    const f = root.resolve('/abs', { followLast: true });
    expect(f.st?.isDirectory()).toBe(true);
    expect(f.path).toBe('/etc');
    f.close();
  });

  it('takes a symlink to / as the root', () => {
    const r = root.resolve('/slash/etc/secret', { followLast: true });
    expect(r.path).toBe('/etc/secret');
    r.close();
    const d = root.directory('/slash');
    expect(d.path).toBe('/');
    d.close();
  });

  it('ends symlink loops', () => {
    expect(code(() => read('/loop1'))).toBe('RUNTIME_COPY_REFUSED');
  });

  it('refuses symlinks on the way when told to (the host side)', () => {
    expect(code(() => root.resolve('/abs/secret', { followLast: false, noSymlinks: true }))).toBe(
      'RUNTIME_COPY_REFUSED',
    );
    expect(code(() => root.directory('/abs', { noSymlinks: true }))).toBe('RUNTIME_COPY_REFUSED');
  });

  it('makes missing directories inside the root only', () => {
    const d = root.directory('/abs/new/deeper', { create: true });
    expect(d.path).toBe('/etc/new/deeper');
    d.close();
    expect(readFileSync(path.join(rootDir, 'etc', 'secret'), 'utf8')).toBe('ROOT');
    const h = root.directory('/host/made', { create: true });
    expect(h.path).toBe(`${outside}/made`);
    h.close();
    // made below the root (…/root/<base>/outside/made), never in the host's `outside`
    expect(code(() => readFileSync(path.join(outside, 'made')))).toBe('ENOENT');
  });
});
