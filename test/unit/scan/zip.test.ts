import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  crc32,
  fileSource,
  zipEntries,
  zipEntriesAt,
  zipRead,
  zipReadAt,
  ZIP_DEFAULTS,
  type ZipEntry,
} from '../../../src/scan/zip.js';

/** A one-entry zip; `patch` edits the central directory entry (at offset `cd`) afterwards. */
function zip1(name: string, data: Buffer, deflate: boolean, patch?: (z: Buffer, cd: number) => void): Buffer {
  const body = deflate ? deflateRawSync(data) : data;
  const n = Buffer.from(name);
  const lh = Buffer.alloc(30);
  lh.writeUInt32LE(0x04034b50, 0);
  lh.writeUInt16LE(deflate ? 8 : 0, 8);
  lh.writeUInt32LE(crc32(data), 14);
  lh.writeUInt32LE(body.length, 18);
  lh.writeUInt32LE(data.length, 22);
  lh.writeUInt16LE(n.length, 26);
  const ch = Buffer.alloc(46);
  ch.writeUInt32LE(0x02014b50, 0);
  ch.writeUInt16LE(deflate ? 8 : 0, 10);
  ch.writeUInt32LE(crc32(data), 16);
  ch.writeUInt32LE(body.length, 20);
  ch.writeUInt32LE(data.length, 24);
  ch.writeUInt16LE(n.length, 28);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(46 + n.length, 12);
  eocd.writeUInt32LE(30 + n.length + body.length, 16);
  const z = Buffer.concat([lh, n, body, ch, n, eocd]);
  patch?.(z, 30 + n.length + body.length);
  return z;
}

const dir = mkdtempSync(join(tmpdir(), 'moat-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Both drivers over the same bytes: the entries' names and contents (or the error). */
async function both(z: Buffer): Promise<[string, string]> {
  const sync = (): string => {
    try {
      const es = zipEntries(z);
      return es
        .map((e) => `${e.name}=${zipRead(z, e).toString('hex').slice(0, 16)}`)
        .sort()
        .join(' ');
    } catch (e) {
      return `error ${(e as Error).message}`;
    }
  };
  const p = join(dir, `z${Math.random()}.zip`);
  writeFileSync(p, z);
  const fh = await fsp.open(p, 'r');
  try {
    const src = fileSource(fh, z.length);
    let out: string;
    try {
      const es: ZipEntry[] = await zipEntriesAt(src, ZIP_DEFAULTS);
      const parts: string[] = [];
      for (const e of es)
        parts.push(`${e.name}=${(await zipReadAt(src, e, ZIP_DEFAULTS)).toString('hex').slice(0, 16)}`);
      out = parts.sort().join(' ');
    } catch (e) {
      out = `error ${(e as Error).message}`;
    }
    return [sync(), out];
  } finally {
    await fh.close();
  }
}

describe('the zip reader (jars and OSV exports)', () => {
  it('reads stored and deflated entries alike from memory and from a file', async () => {
    for (const deflate of [false, true]) {
      const [a, b] = await both(zip1('a/b.json', Buffer.from('{"x":1}'), deflate));
      expect(a).toBe(`a/b.json=${Buffer.from('{"x":1}').toString('hex')}`);
      expect(b).toBe(a);
    }
  });

  it('allows for data prepended to the archive', async () => {
    const z = Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n'), zip1('x', Buffer.from('hi'), true)]);
    const [a, b] = await both(z);
    expect(a).toBe('x=6869');
    expect(b).toBe(a);
  });

  it('refuses a CRC mismatch, a stored size that lies, a ratio deflate cannot reach, encryption', async () => {
    const data = Buffer.from('some content some content some content');
    const cases: [(z: Buffer, cd: number) => void, RegExp][] = [
      [(z, cd) => z.writeUInt32LE((z.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16), /CRC mismatch/],
      [(z, cd) => z.writeUInt32LE(data.length + 1, cd + 24), /cannot come of/],
      [(z, cd) => z.writeUInt16LE(1, cd + 8), /encrypted/],
      [(z, cd) => z.writeUInt16LE(12, cd + 10), /compression method 12/],
    ];
    for (const [patch, re] of cases) {
      const [a, b] = await both(zip1('x', data, false, patch));
      expect(a).toMatch(re);
      expect(b).toBe(a);
    }
    // Deflated: 1 MiB declared of a few bytes is refused before inflating.
    const [a, b] = await both(zip1('x', data, true, (z, cd) => z.writeUInt32LE(0x100000, cd + 24)));
    expect(a).toMatch(/cannot come of/);
    expect(b).toBe(a);
    // A truncated archive, either way.
    const [c, d] = await both(zip1('x', data, true).subarray(0, 40));
    expect(c).toMatch(/^error zip:/);
    expect(d).toBe(c);
  });

  it.skipIf(spawnSync('zip', ['-v']).status !== 0)('reads ZIP64 records made by zip -fz', async () => {
    mkdirSync(join(dir, 'src/a'), { recursive: true });
    writeFileSync(join(dir, 'src/a/x.json'), '{}');
    writeFileSync(join(dir, 'src/a/zeros'), Buffer.alloc(100_000));
    execFileSync('zip', ['-q', '-r', '-fz', join(dir, 'z64.zip'), 'a'], { cwd: join(dir, 'src') });
    const z = readFileSync(join(dir, 'z64.zip'));
    expect(z.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const [a, b] = await both(z);
    expect(a).toBe('a/= a/x.json=7b7d a/zeros=0000000000000000');
    expect(b).toBe(a);
  });
});
