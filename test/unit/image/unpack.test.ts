import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyLayer, type ApplyOptions, type LayerStats } from '../../../src/image/unpack.js';
import {
  dir,
  file,
  hardlink,
  sandbox,
  streamOf,
  symlink,
  tarOf,
  type Entry,
  type Sandbox,
} from './fixtures-unpack/tar.js';

const squash: ApplyOptions = { ownership: 'squash' };
let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const apply = async (entries: Entry[], opts = squash): Promise<LayerStats> =>
  applyLayer(sb.rootfs, streamOf(await tarOf(entries)), opts);
const at = (p: string): string => path.join(sb.rootfs, p);
const read = (p: string): Promise<string> => fsp.readFile(at(p), 'utf8');
const exists = (p: string): Promise<boolean> =>
  fsp.lstat(at(p)).then(
    () => true,
    () => false,
  );
const list = async (p: string): Promise<string[]> => (await fsp.readdir(at(p))).sort();

describe('applyLayer: files, directories, links', () => {
  it('creates files, directories and symlinks with their modes and mtimes', async () => {
    const mtime = new Date('2021-02-03T04:05:06Z');
    const stats = await apply([
      dir('./'),
      dir('./usr/', { mode: 0o755 }),
      dir('usr/bin/', { mode: 0o555, mtime }),
      file('usr/bin/su', 'elf', { mode: 0o4755, mtime }),
      file('usr/bin/wall', 'elf', { mode: 0o2755 }),
      dir('tmp/', { mode: 0o1777 }),
      file('etc/shadow', 'x', { mode: 0o640 }), // parent not listed: created
      symlink('bin', 'usr/bin'),
      symlink('usr/bin/abs', '/etc/shadow'),
    ]);
    expect(stats).toEqual({ entries: 9, bytes: 7, whiteouts: 0, squashedOwners: 0 });
    const su = await fsp.lstat(at('usr/bin/su'));
    expect(su.mode & 0o7777).toBe(0o4755);
    expect(su.mtime.getTime()).toBe(mtime.getTime());
    expect((await fsp.lstat(at('usr/bin/wall'))).mode & 0o7777).toBe(0o2755);
    const bin = await fsp.lstat(at('usr/bin'));
    expect(bin.mode & 0o7777).toBe(0o555); // set after its children were written
    expect(bin.mtime.getTime()).toBe(mtime.getTime());
    expect((await fsp.lstat(at('tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await fsp.lstat(at('etc/shadow'))).mode & 0o7777).toBe(0o640);
    expect(await fsp.readlink(at('bin'))).toBe('usr/bin');
    expect(await fsp.readlink(at('usr/bin/abs'))).toBe('/etc/shadow');
    expect(await read('usr/bin/su')).toBe('elf');
  });

  it('streams a large file intact', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const stats = await apply([file('big', big)]);
    expect(stats.bytes).toBe(big.length);
    expect((await fsp.readFile(at('big'))).equals(big)).toBe(true);
  });

  it('creates hardlinks sharing one inode', async () => {
    await apply([
      file('a', 'data'),
      hardlink('b', 'a'),
      dir('d/'),
      hardlink('d/c', './a'),
      symlink('s', 'a'),
      hardlink('t', 's'),
    ]);
    const [a, b, c] = await Promise.all(['a', 'b', 'd/c'].map((p) => fsp.lstat(at(p))));
    expect(b.ino).toBe(a.ino);
    expect(c.ino).toBe(a.ino);
    expect(a.nlink).toBe(3);
    expect((await fsp.lstat(at('t'))).isSymbolicLink()).toBe(true); // a link to the symlink itself
  });

  it('follows symlinked parents inside the rootfs (merged /usr)', async () => {
    await apply([
      dir('usr/lib/'),
      symlink('lib', 'usr/lib'),
      file('lib/libc.so', 'c'),
      symlink('abs', '/usr'),
      file('abs/lib/x', 'x'),
    ]);
    expect(await list('usr/lib')).toEqual(['libc.so', 'x']);
    expect((await fsp.lstat(at('lib'))).isSymbolicLink()).toBe(true);
  });

  it('counts non-root owners under squash', async () => {
    const stats = await apply([
      file('a', '', { uid: 1000, gid: 1000 }),
      file('b', ''),
      file('c', '', { pax: { uid: '3000000', gid: '0' } }),
    ]);
    expect(stats.squashedOwners).toBe(2);
  });

  it('preserves owners (uid/gid, pax ones too) when allowed, else fails with IMAGE_CHOWN_FAILED', async () => {
    const entries = [
      dir('home/', { uid: 0, gid: 0 }),
      dir('home/u/', { uid: 1000, gid: 1001, mode: 0o700 }),
      file('home/u/f', 'x', { uid: 1000, gid: 1001, mode: 0o4750 }),
      symlink('home/u/l', 'f'),
      file('big-id', '', { pax: { uid: '3000000', gid: '3000001' } }),
    ];
    entries[3] = { ...entries[3], uid: 1000, gid: 1001 };
    if (process.getuid?.() === 0) {
      const stats = await apply(entries, { ownership: 'preserve' });
      expect(stats.squashedOwners).toBe(0);
      for (const p of ['home/u', 'home/u/f', 'home/u/l']) {
        const st = await fsp.lstat(at(p));
        expect([p, st.uid, st.gid]).toEqual([p, 1000, 1001]);
      }
      expect((await fsp.lstat(at('home/u/f'))).mode & 0o7777).toBe(0o4750); // setuid survives chown
      const big = await fsp.lstat(at('big-id'));
      expect([big.uid, big.gid]).toEqual([3000000, 3000001]);
    } else {
      await expect(apply(entries, { ownership: 'preserve' })).rejects.toMatchObject({
        code: 'IMAGE_CHOWN_FAILED',
      });
    }
  });
});

describe('applyLayer: later entries and layers replace earlier ones', () => {
  it('applies layers in order', async () => {
    await apply([file('etc/os-release', 'one'), file('etc/keep', 'k')]);
    await apply([file('etc/os-release', 'two')]);
    expect(await read('etc/os-release')).toBe('two');
    expect(await read('etc/keep')).toBe('k');
  });

  it('replaces a symlink with a file without writing through it', async () => {
    const target = path.join(sb.outside, 'victim');
    await apply([symlink('link', target), symlink('rel', 'real'), file('real', 'real')]);
    await apply([file('link', 'new'), file('rel', 'new')]);
    expect(await fsp.readFile(target, 'utf8')).toBe('original');
    expect(await read('real')).toBe('real');
    expect((await fsp.lstat(at('link'))).isFile()).toBe(true);
    expect(await read('link')).toBe('new');
  });

  it('replaces a hardlinked file without changing the other names of its inode', async () => {
    await apply([file('a', 'one'), hardlink('b', 'a')]);
    await apply([file('b', 'two', { mode: 0o600 })]);
    expect(await read('a')).toBe('one');
    expect(await read('b')).toBe('two');
    expect((await fsp.lstat(at('a'))).mode & 0o777).toBe(0o644);
  });

  it('keeps the contents of an existing directory and updates its metadata', async () => {
    await apply([dir('etc/', { mode: 0o755 }), file('etc/a', 'a')]);
    await apply([dir('etc/', { mode: 0o750 }), file('etc/b', 'b')]);
    expect(await list('etc')).toEqual(['a', 'b']);
    expect((await fsp.lstat(at('etc'))).mode & 0o7777).toBe(0o750);
  });

  it('replaces a file or symlink with a directory, and a directory with a file', async () => {
    await apply([file('f', 'x'), symlink('s', '/'), dir('d/'), file('d/inner', 'i')]);
    await apply([dir('f/'), dir('s/'), file('d', 'now a file')]);
    expect((await fsp.lstat(at('f'))).isDirectory()).toBe(true);
    expect((await fsp.lstat(at('s'))).isDirectory()).toBe(true);
    expect(await read('d')).toBe('now a file');
  });

  it('never reuses a stale lookup after a directory is replaced within a layer', async () => {
    const before = await sb.hostView();
    // x/ is looked up (cached), replaced by a file, then by an absolute symlink to a host path:
    // x/b must be resolved afresh, inside the rootfs, where that path does not exist.
    const p = apply([
      dir('x/'),
      file('x/a', 'a'),
      file('x', 'f'),
      symlink('x', sb.outside),
      file('x/b', 'evil'),
    ]);
    await expect(p).rejects.toMatchObject({ code: 'IMAGE_UNSAFE_ENTRY' });
    expect(await sb.hostView()).toEqual(before);
  });
});

describe('applyLayer: whiteouts', () => {
  it('removes a file and a whole tree from earlier layers', async () => {
    await apply([
      file('etc/a', 'a'),
      file('etc/b', 'b'),
      file('var/lib/x/y/z', 'z'),
      symlink('var/l', '/etc'),
    ]);
    const stats = await apply([
      file('etc/.wh.a'),
      dir('var/'),
      file('var/.wh.lib'),
      file('var/.wh.l'),
      file('.wh.nothing-there'),
    ]);
    expect(stats.whiteouts).toBe(4);
    expect(stats.entries).toBe(1);
    expect(await list('etc')).toEqual(['b']);
    expect(await list('var')).toEqual([]);
    expect(await exists('etc/.wh.a')).toBe(false);
  });

  it("an opaque directory keeps only this layer's entries, whatever their order", async () => {
    await apply([
      file('d/old', 'o'),
      file('d/sub/old', 'o'),
      file('d/sub/keep-no', 'o'),
      file('other/x', 'x'),
    ]);
    const stats = await apply([
      dir('d/'),
      file('d/before', 'b'),
      dir('d/sub/'),
      file('d/.wh..wh..opq'),
      file('d/after', 'a'),
      file('d/sub/new', 'n'),
    ]);
    expect(stats.whiteouts).toBe(1);
    expect(await list('d')).toEqual(['after', 'before', 'sub']);
    expect(await list('d/sub')).toEqual(['new']);
    expect(await read('other/x')).toBe('x');
  });

  it('an opaque marker for the rootfs empties it of earlier layers', async () => {
    await apply([file('a', 'a'), file('b/c', 'c')]);
    await apply([file('n', 'n'), file('.wh..wh..opq')]);
    expect(await list('.')).toEqual(['n']);
  });

  it('a whiteout does not remove an entry of its own layer', async () => {
    await apply([file('d/old', 'o')]);
    await apply([file('d/new', 'n'), file('d/.wh.new'), file('.wh.d')]);
    expect(await list('d')).toEqual(['new']);
  });

  it('treats an overlayfs 0:0 character device as a whiteout and skips aufs metadata', async () => {
    await apply([file('gone', 'g')]);
    const stats = await apply([
      { name: 'gone', type: 'character-device', devmajor: 0, devminor: 0 },
      file('.wh..wh.plnk'),
    ]);
    expect(stats.whiteouts).toBe(1);
    expect(await list('.')).toEqual([]);
  });

  it('whiteouts through a symlinked parent act inside the rootfs', async () => {
    await apply([file('usr/lib/a', 'a'), symlink('lib', '/usr/lib')]);
    await apply([file('lib/.wh.a')]);
    expect(await list('usr/lib')).toEqual([]);
  });
});
