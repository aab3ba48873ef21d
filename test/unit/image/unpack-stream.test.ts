import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyLayer, openLayerStream, sniffCompression } from '../../../src/image/unpack.js';
import { file, gz, sandbox, streamOf, tarOf, type Sandbox } from './fixtures-unpack/tar.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const blob = async (name: string, data: Buffer): Promise<string> => {
  const p = path.join(sb.dir, name);
  await fsp.writeFile(p, data);
  return p;
};
const applyFile = (p: string, mediaType?: string): Promise<unknown> =>
  applyLayer(sb.rootfs, openLayerStream(p, mediaType), { ownership: 'squash' });
const codeOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'resolved',
    (e: { code?: unknown }) => e.code,
  );

describe('openLayerStream', () => {
  it('reads gzip and plain tar, whatever the media type says', async () => {
    const tar = await tarOf([file('hello', 'world')]);
    await applyFile(await blob('a.tar.gz', gz(tar)), 'application/vnd.oci.image.layer.v1.tar');
    expect(await fsp.readFile(path.join(sb.rootfs, 'hello'), 'utf8')).toBe('world');
    const tar2 = await tarOf([file('plain', 'p')]);
    await applyFile(await blob('b.tar', tar2), 'application/vnd.oci.image.layer.v1.tar+gzip');
    expect(await fsp.readFile(path.join(sb.rootfs, 'plain'), 'utf8')).toBe('p');
  });

  it('refuses zstd (and xz, bzip2) with IMAGE_UNSUPPORTED_COMPRESSION', async () => {
    const zst = await blob('l.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x01]));
    expect(() => openLayerStream(zst, 'application/vnd.oci.image.layer.v1.tar+zstd')).toThrow(
      expect.objectContaining({ code: 'IMAGE_UNSUPPORTED_COMPRESSION' }),
    );
    expect(sniffCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
    expect(sniffCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(sniffCompression(Buffer.from([0x1f]))).toBe('none');
  });

  it('reports a missing blob as IMAGE_LAYER_UNREADABLE', () => {
    expect(() => openLayerStream(path.join(sb.dir, 'nope'))).toThrow(
      expect.objectContaining({ code: 'IMAGE_LAYER_UNREADABLE' }),
    );
  });

  it('reports corrupt or truncated gzip as IMAGE_CORRUPT_LAYER', async () => {
    const big = Buffer.alloc(256 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const z = gz(await tarOf([file('a', big), file('b', 'b')]));
    const flipped = Buffer.from(z);
    for (let i = 100; i < 200; i++) flipped[i] ^= 0x5a;
    expect(await codeOf(applyFile(await blob('flipped.gz', flipped)))).toBe('IMAGE_CORRUPT_LAYER');
    const truncated = z.subarray(0, Math.floor(z.length / 2));
    expect(await codeOf(applyFile(await blob('truncated.gz', truncated)))).toBe('IMAGE_CORRUPT_LAYER');
  });

  it('reports garbage and truncated tar as IMAGE_CORRUPT_LAYER', async () => {
    const garbage = Buffer.alloc(2048, 0x41);
    expect(await codeOf(applyFile(await blob('garbage.tar', garbage)))).toBe('IMAGE_CORRUPT_LAYER');
    const tar = await tarOf([file('a', Buffer.alloc(10_000, 1)), file('b', 'b')]);
    expect(await codeOf(applyFile(await blob('short.tar', tar.subarray(0, 5000))))).toBe(
      'IMAGE_CORRUPT_LAYER',
    );
    // The same, handed to applyLayer directly rather than through openLayerStream.
    expect(
      await codeOf(applyLayer(sb.rootfs, streamOf(tar.subarray(0, 1536)), { ownership: 'squash' })),
    ).toBe('IMAGE_CORRUPT_LAYER');
  });

  it('applies a gzip layer many times its decompression chunk and lookahead, byte for byte', async () => {
    // 4 × 5 MB of incompressible data and 2000 small files in 100 directories: decompression runs
    // ahead of the reader, and the reader yields to the event loop many times.
    const big = [0, 1, 2, 3].map(() => randomBytes(5 << 20));
    const entries = big.map((b, i) => file(`big/${i}`, b));
    let small = 0;
    for (let i = 0; i < 2000; i++) {
      entries.push(file(`d${i % 100}/f${i}`, `file ${i}`));
      small += `file ${i}`.length;
    }
    const layer = await blob('big.tar.gz', gzipSync(await tarOf(entries), { level: 1 }));
    expect(await applyFile(layer)).toMatchObject({ entries: 2004, bytes: 4 * (5 << 20) + small });
    for (const [i, b] of big.entries()) {
      expect((await fsp.readFile(path.join(sb.rootfs, `big/${i}`))).equals(b)).toBe(true);
    }
    expect(await fsp.readFile(path.join(sb.rootfs, 'd7/f1907'), 'utf8')).toBe('file 1907');
    expect((await fsp.readdir(path.join(sb.rootfs, 'd99'))).length).toBe(20);

    // A bad CRC in the gzip trailer, after all of that data: still refused, as a whole.
    const z = await fsp.readFile(layer);
    z[z.length - 6] ^= 0xff;
    expect(await codeOf(applyFile(await blob('badcrc.tar.gz', z)))).toBe('IMAGE_CORRUPT_LAYER');
  });

  it('accepts an empty layer', async () => {
    expect(await applyFile(await blob('empty.tar', await tarOf([])))).toEqual({
      entries: 0,
      bytes: 0,
      whiteouts: 0,
      squashedOwners: 0,
    });
  });
});
