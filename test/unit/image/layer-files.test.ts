/**
 * Small files read from an image's layers without unpacking (layer-files.ts): the top layer that
 * says something decides; whiteouts, opaque directories and non-directory parents read as
 * absent; a link as the file is followed inside the image.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readLayerFiles } from '../../../src/image/layer-files.js';
import { packTar, type TarFile } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'layer-files-'));
let n = 0;

async function layers(...ls: TarFile[][]): Promise<{ path: string }[]> {
  const out = [];
  for (const files of ls) {
    const p = path.join(dir, `l${n++}`);
    const tar = await packTar(files);
    // gzip for some, plain tar for others: the content decides, as for unpacking.
    writeFileSync(p, n % 2 ? gzipSync(tar) : tar);
    out.push({ path: p });
  }
  return out;
}

const read = async (ls: { path: string }[], names = ['etc/passwd', 'etc/group']) =>
  Object.fromEntries(await readLayerFiles(ls, names));

describe('readLayerFiles', () => {
  it('reads a file of the base layer; an upper layer that changes it wins', async () => {
    const base: TarFile[] = [
      { name: 'etc', type: 'directory' },
      { name: './etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
      { name: 'etc/group', content: 'root:x:0:\n' },
    ];
    expect(await read(await layers(base))).toEqual({
      'etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
      'etc/group': 'root:x:0:\n',
    });
    const up: TarFile[] = [{ name: 'etc/passwd', content: 'app:x:1000:1000::/home/app:/bin/sh\n' }];
    expect(await read(await layers(base, up))).toEqual({
      'etc/passwd': 'app:x:1000:1000::/home/app:/bin/sh\n',
      'etc/group': 'root:x:0:\n',
    });
  });

  it('a whiteout of the file or of a parent, or an opaque parent, hides the lower ones', async () => {
    const base: TarFile[] = [
      { name: 'etc/passwd', content: 'p' },
      { name: 'etc/group', content: 'g' },
    ];
    expect(await read(await layers(base, [{ name: 'etc/.wh.passwd' }]))).toEqual({
      'etc/passwd': undefined,
      'etc/group': 'g',
    });
    expect(await read(await layers(base, [{ name: '.wh.etc' }]))).toEqual({
      'etc/passwd': undefined,
      'etc/group': undefined,
    });
    expect(
      await read(await layers(base, [{ name: 'etc/.wh..wh..opq' }, { name: 'etc/group', content: 'new' }])),
    ).toEqual({ 'etc/passwd': undefined, 'etc/group': 'new' });
  });

  it('a symlink or hard link as the file is followed inside the image, never out of it', async () => {
    const base: TarFile[] = [
      { name: 'etc/shadow', content: 's' },
      { name: 'etc/passwd.real', content: 'p2' },
      { name: 'etc/group', content: 'g' },
    ];
    // Absolute targets are the image's, relative ones resolve beside the link.
    expect(
      await read(
        await layers(base, [
          { name: 'etc/passwd', type: 'symlink', linkname: '/etc/shadow' },
          { name: 'etc/group', type: 'symlink', linkname: 'passwd.real' },
        ]),
      ),
    ).toEqual({ 'etc/passwd': 's', 'etc/group': 'p2' });
    // A hard link names a path of the archive.
    expect(
      await read(await layers(base, [{ name: 'etc/passwd', type: 'link', linkname: 'etc/passwd.real' }])),
    ).toEqual({ 'etc/passwd': 'p2', 'etc/group': 'g' });
    // `..` stops at the image's root: a host path is only ever a path in the image (absent here).
    expect(
      await read(
        await layers(base, [{ name: 'etc/passwd', type: 'symlink', linkname: '../../../../etc/hostname' }]),
      ),
    ).toEqual({ 'etc/passwd': undefined, 'etc/group': 'g' });
  });

  it('a link loop, or a parent that is a symlink or not a directory, reads as absent', async () => {
    const base: TarFile[] = [
      { name: 'etc/passwd', content: 'p' },
      { name: 'etc/group', content: 'g' },
    ];
    expect(
      await read(
        await layers(base, [
          { name: 'etc/passwd', type: 'symlink', linkname: 'group' },
          { name: 'etc/group', type: 'symlink', linkname: 'passwd' },
        ]),
      ),
    ).toEqual({ 'etc/passwd': undefined, 'etc/group': undefined });
    expect(await read(await layers(base, [{ name: 'etc', type: 'symlink', linkname: '/' }]))).toEqual({
      'etc/passwd': undefined,
      'etc/group': undefined,
    });
  });

  it('absent everywhere: undefined; no layers at all: undefined', async () => {
    expect(await read(await layers([{ name: 'bin/sh', content: 'x' }]))).toEqual({
      'etc/passwd': undefined,
      'etc/group': undefined,
    });
    expect(await read([])).toEqual({ 'etc/passwd': undefined, 'etc/group': undefined });
  });
});
