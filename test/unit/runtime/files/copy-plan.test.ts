/** Where `cp SRC DEST` extracts, as docker's PrepareArchiveCopy decides it. */
import { describe, expect, it } from 'vitest';
import {
  archiveBase,
  hiddenUnderMount,
  planCopy,
  rebaseName,
  splitDirEntry,
} from '../../../../src/runtime/files/copy-plan.js';

function code(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
  return undefined;
}

describe('splitDirEntry and archiveBase', () => {
  it('keeps a trailing /. as the base, as docker does', () => {
    expect(splitDirEntry('/etc/hosts')).toEqual({ dir: '/etc', base: 'hosts' });
    expect(splitDirEntry('/etc/')).toEqual({ dir: '/', base: 'etc' });
    expect(splitDirEntry('/etc/.')).toEqual({ dir: '/etc', base: '.' });
    expect(splitDirEntry('rel/dir')).toEqual({ dir: 'rel', base: 'dir' });
    expect(archiveBase('/')).toBe('.');
    expect(archiveBase('/var/log/.')).toBe('.');
    expect(archiveBase('/var/log/')).toBe('log');
  });
});

describe('planCopy', () => {
  const file = { path: '/src/a.txt', isDir: false };
  const dir = { path: '/src/d', isDir: true };
  it('copies into an existing directory as is', () => {
    expect(planCopy(file, { path: '/dst', exists: true, isDir: true })).toEqual({ dir: '/dst' });
    expect(planCopy(dir, { path: '/dst/', exists: true, isDir: true })).toEqual({ dir: '/dst/' });
    expect(planCopy({ path: '/src/d/.', isDir: true }, { path: '/dst', exists: true, isDir: true })).toEqual({
      dir: '/dst',
    });
  });
  it('renames onto a missing destination or an existing file', () => {
    expect(planCopy(file, { path: '/dst/b.txt', exists: false, isDir: false })).toEqual({
      dir: '/dst',
      rebase: { from: 'a.txt', to: 'b.txt' },
    });
    expect(planCopy(file, { path: '/dst/b.txt', exists: true, isDir: false })).toEqual({
      dir: '/dst',
      rebase: { from: 'a.txt', to: 'b.txt' },
    });
    expect(planCopy(dir, { path: '/dst/new', exists: false, isDir: false })).toEqual({
      dir: '/dst',
      rebase: { from: 'd', to: 'new' },
    });
    expect(
      planCopy({ path: '/src/d/.', isDir: true }, { path: '/dst/new', exists: false, isDir: false }),
    ).toEqual({ dir: '/dst', rebase: { from: '.', to: 'new' } });
    expect(
      planCopy({ ...file, rebaseName: 'link' }, { path: '/x', exists: false, isDir: false }).rebase,
    ).toEqual({
      from: 'link',
      to: 'x',
    });
  });
  it('refuses a directory onto a file, a file onto a missing DIR/, and SRC/. of a file', () => {
    expect(code(() => planCopy(dir, { path: '/dst/f', exists: true, isDir: false }))).toBe(
      'RUNTIME_COPY_REFUSED',
    );
    expect(code(() => planCopy(file, { path: '/dst/missing/', exists: false, isDir: false }))).toBe(
      'RUNTIME_COPY_REFUSED',
    );
    expect(
      code(() => planCopy({ path: '/a.txt/.', isDir: false }, { path: '/x', exists: false, isDir: false })),
    ).toBe('RUNTIME_COPY_REFUSED');
  });
});

describe('rebaseName', () => {
  it('renames the top entry only', () => {
    const r = { from: 'd', to: 'new' };
    expect(rebaseName('d', r)).toBe('new');
    expect(rebaseName('d/x/y', r)).toBe('new/x/y');
    expect(rebaseName('dd/x', r)).toBe('dd/x');
    expect(rebaseName('./a', { from: '.', to: 'n' })).toBe('n/a');
    expect(rebaseName('x', undefined)).toBe('x');
  });
});

describe('hiddenUnderMount: a copy into a stopped container under a mount it gets when it runs', () => {
  const m = { volumes: [{ container: '/data/' }], tmpfs: [{ path: '/cache' }], readWrite: false };
  it('names the mount for the mount point and anything below it, however the path is spelled', () => {
    expect(hiddenUnderMount('/data', m)).toBe('/data');
    expect(hiddenUnderMount('data/sub', m)).toBe('/data');
    expect(hiddenUnderMount('/x/../data/./sub/', m)).toBe('/data');
    expect(hiddenUnderMount('/cache', m)).toBe('/cache');
    expect(hiddenUnderMount('/tmp/a', m)).toBe('/tmp');
    expect(hiddenUnderMount('/run', m)).toBe('/run');
  });
  it('leaves the root and look-alike names alone; a read-write root has no /tmp or /run mount', () => {
    expect(hiddenUnderMount('/', m)).toBeUndefined();
    expect(hiddenUnderMount('/database', m)).toBeUndefined();
    expect(hiddenUnderMount('/etc', m)).toBeUndefined();
    expect(hiddenUnderMount('/tmp', { ...m, readWrite: true })).toBeUndefined();
  });
});
