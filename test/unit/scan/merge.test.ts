import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import { mergeLayers, readImageLayers, scanImage } from '../../../src/scan/index.js';
import type { Package, PackageParser } from '../../../src/scan/types.js';
import { CLEAN_BASE, storeImage, tempStore, type TarFile } from './helpers.js';

let store: ImageStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(() => cleanup());

/** A toy package database: `name version` lines in var/lib/toy/db; the introducing layer from history. */
const toy: PackageParser = {
  name: 'toy',
  wants: (path) => path === 'var/lib/toy/db',
  maxBytes: 1 << 20,
  parse(content, path, ctx) {
    const parse = (b: Buffer) =>
      b
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]);
    return parse(content).map(([name, version]): Package => {
      const since = ctx.history.find((h) => parse(h.content).some(([n, v]) => n === name && v === version));
      return {
        ecosystem: 'deb',
        name,
        version,
        purl: `pkg:deb/${ctx.distro?.id ?? 'unknown'}/${name}@${version}`,
        layer: since?.layer ?? ctx.layer,
        path,
      };
    });
  },
};

const db = (lines: string): TarFile => ({ name: 'var/lib/toy/db', content: lines });
const osRelease: TarFile[] = [
  { name: 'usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
  { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
];

async function merged(layers: TarFile[][]) {
  const img = await storeImage(store, layers);
  const { scans } = await readImageLayers(store, img.record, { cache: false, parsers: [toy] });
  return { ...img, ...mergeLayers(scans) };
}

describe('the merged filesystem', () => {
  it('whiteouts delete files and whole trees of lower layers; an opaque directory hides their contents', async () => {
    const { fs, layerDigests } = await merged([
      [
        ...CLEAN_BASE,
        { name: 'a/', type: 'directory' },
        { name: 'a/b/', type: 'directory' },
        { name: 'a/b/c', content: '1' },
        { name: 'a/keep', content: '1' },
        { name: 'd/', type: 'directory' },
        { name: 'd/old', content: '1' },
      ],
      [
        { name: 'a/.wh.b', content: '' },
        { name: 'd/', type: 'directory', mode: 0o700 },
        { name: 'd/.wh..wh..opq', content: '' },
        { name: 'd/new', content: '2' },
        { name: 'a/keep', content: '22' },
      ],
    ]);
    expect(fs.get('a/b')).toBeUndefined();
    expect(fs.get('a/b/c')).toBeUndefined();
    expect(fs.get('a/keep')).toMatchObject({ size: 2, layer: layerDigests[1], layerIndex: 1 });
    expect(fs.get('d')).toMatchObject({ mode: 0o700, layer: layerDigests[1] });
    expect(fs.get('d/old')).toBeUndefined();
    expect(fs.get('d/new')).toMatchObject({ layerIndex: 1 });
    expect(fs.get('etc/passwd')).toMatchObject({ layerIndex: 0 });
    const paths = [...fs.entries()].map((e) => e.path);
    expect(paths).toContain('a/keep');
    expect(paths.filter((p) => p.startsWith('a/b') || p === 'd/old')).toEqual([]);
  });

  it('retained files follow the merge: content, symlinks resolved inside the root, lower versions', async () => {
    const { fs, layerDigests } = await merged([
      [...CLEAN_BASE, ...osRelease, db('a 1\n')],
      [db('a 1\nb 2\n')],
      [db('a 1\nb 3\n')],
    ]);
    expect(fs.content('etc/os-release')?.toString()).toContain('ID=debian');
    expect(fs.resolve('etc/os-release')).toBe('usr/lib/os-release');
    const files = [...fs.files()].filter((f) => f.path === 'var/lib/toy/db');
    expect(files).toHaveLength(1);
    expect(files[0].content.toString()).toBe('a 1\nb 3\n');
    expect(files[0].history.map((h) => [h.layer, h.content.toString()])).toEqual([
      [layerDigests[0], 'a 1\n'],
      [layerDigests[1], 'a 1\nb 2\n'],
    ]);
  });

  it('packages come from the final database: a later layer upgrading, or deleting it, changes the inventory', async () => {
    const upgraded = await storeImage(store, [
      [...CLEAN_BASE, ...osRelease, db('a 1\nb 2\n')],
      [db('a 1\nb 3\n')],
    ]);
    const r = await scanImage(store, upgraded.record, { cache: false, parsers: [toy] });
    expect(r.distro).toEqual({ id: 'debian', version: '12' });
    expect(r.packages.map((p) => [p.name, p.version, p.layer, p.purl])).toEqual([
      ['a', '1', upgraded.layerDigests[0], 'pkg:deb/debian/a@1'],
      ['b', '3', upgraded.layerDigests[1], 'pkg:deb/debian/b@3'],
    ]);

    const deleted = await storeImage(store, [
      [...CLEAN_BASE, ...osRelease, db('a 1\n')],
      [{ name: 'var/lib/toy/.wh.db', content: '' }],
    ]);
    expect((await scanImage(store, deleted.record, { cache: false, parsers: [toy] })).packages).toEqual([]);

    const hidden = await storeImage(store, [
      [...CLEAN_BASE, db('a 1\n')],
      [{ name: 'var/lib/.wh..wh..opq', content: '' }],
    ]);
    expect((await scanImage(store, hidden.record, { cache: false, parsers: [toy] })).packages).toEqual([]);
  });

  it('a parser that throws leaves a note, not a failed scan; files over its maxBytes are noted and skipped', async () => {
    const img = await storeImage(store, [
      [...CLEAN_BASE, db('a 1\n'), { name: 'var/lib/toy/big', content: 'x'.repeat(100) }],
    ]);
    const broken: PackageParser = { ...toy, parse: () => JSON.parse('{') as Package[] };
    const small: PackageParser = {
      ...toy,
      name: 'small',
      wants: (p) => p === 'var/lib/toy/big',
      maxBytes: 10,
    };
    const r = await scanImage(store, img.record, { cache: false, parsers: [broken, small] });
    expect(r.packages).toEqual([]);
    expect(r.notes).toEqual([
      'small: var/lib/toy/big: 100 bytes, over the 10-byte limit; not read',
      expect.stringMatching(/^toy: var\/lib\/toy\/db: not parsed \(/),
    ]);
  });
});
