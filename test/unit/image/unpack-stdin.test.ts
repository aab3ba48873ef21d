/**
 * The unpack worker's streamed mode (layers on stdin after the request line, as `moat pull`
 * sends them while downloading), ByteSlices, the mount points it makes, and BlobFollower.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobFollower } from '../../../src/image/blob-follower.js';
import { ByteSlices, makeMountPoints, parseRequest, run } from '../../../src/image/unpack-worker.js';
import { dir, file, gz, sandbox, symlink, tarOf, type Sandbox } from './fixtures-unpack/tar.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** Chunks of `data` cut at awkward places, as a pipe may deliver them. */
function chunked(data: Buffer, sizes: number[]): AsyncIterator<Buffer> {
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length];
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  return (async function* () {
    for (const p of parts) yield p;
  })();
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

/** One range of `s`, read to its end. */
async function range(s: ByteSlices, n: number): Promise<string> {
  s.begin(n);
  const out: Buffer[] = [];
  for (let c = await s.read(); c; c = await s.read()) out.push(c);
  return Buffer.concat(out).toString();
}

describe('ByteSlices', () => {
  it('cuts consecutive ranges exactly, across chunk boundaries and leftovers', async () => {
    const data = Buffer.from('aaaabbbbbbcc');
    const s = new ByteSlices(chunked(data.subarray(2), [3, 1, 5]));
    s.unshift(data.subarray(0, 2));
    expect(await range(s, 4)).toBe('aaaa');
    expect(await range(s, 6)).toBe('bbbbbb');
    expect(await range(s, 2)).toBe('cc');
  });

  it('peek shows the first bytes without consuming them, never past the range', async () => {
    const s = new ByteSlices(chunked(Buffer.from('abcdefgh'), [1]));
    s.begin(3);
    expect((await s.peek(6)).toString()).toBe('abc');
    expect((await collect(s.stream())).toString()).toBe('abc');
    expect(await range(s, 5)).toBe('defgh');
  });

  it('stream() hands on pieces of at least the batch size (gunzip pays per piece), the rest at the end', async () => {
    const data = Buffer.from('0123456789'.repeat(10));
    const s = new ByteSlices(chunked(data, [10]));
    s.begin(95);
    const sizes: number[] = [];
    const got: Buffer[] = [];
    for await (const c of s.stream(25)) {
      sizes.push((c as Buffer).length);
      got.push(c as Buffer);
    }
    expect(sizes).toEqual([30, 30, 30, 5]);
    expect(Buffer.concat(got).equals(data.subarray(0, 95))).toBe(true);
  });

  it('skipRest discards what a reader left unread, so the next range starts in place', async () => {
    const s = new ByteSlices(chunked(Buffer.from('xxxxxxyyy'), [2]));
    s.begin(6);
    expect((await s.read())?.toString()).toBe('xx');
    await s.skipRest();
    expect(await range(s, 3)).toBe('yyy');
  });

  it('a stream that ends early is an error with a stable code', async () => {
    const s = new ByteSlices(chunked(Buffer.from('abc'), [2]));
    await expect(range(s, 5)).rejects.toMatchObject({ code: 'IMAGE_LAYER_UNREADABLE' });
  });
});

describe('unpack worker: layers on stdin', () => {
  it('parses stdinBytes layers and refuses ambiguous or bad ones', () => {
    expect(parseRequest({ rootfs: '/r', layers: [{ stdinBytes: 10 }], ownership: 'squash' })).toEqual({
      rootfs: '/r',
      layers: [{ stdinBytes: 10 }],
      ownership: 'squash',
    });
    for (const layers of [[{ stdinBytes: -1 }], [{ stdinBytes: 1.5 }], [{ stdinBytes: 1, path: '/x' }]])
      expect(() => parseRequest({ rootfs: '/r', layers, ownership: 'squash' })).toThrow(
        expect.objectContaining({ code: 'IMAGE_WORKER_BAD_INPUT' }),
      );
    expect(() => parseRequest({ rootfs: '/r', layers: [], ownership: 'squash', mountPoints: 'yes' })).toThrow(
      expect.objectContaining({ code: 'IMAGE_WORKER_BAD_INPUT' }),
    );
  });

  it('applies a gzip and a plain layer from one stream, in order, whatever the chunking', async () => {
    const l1 = gz(await tarOf([dir('etc/'), file('etc/a', 'one'), file('etc/b', 'b')]));
    const l2 = await tarOf([file('etc/a', 'two'), file('etc/.wh.b')]);
    const res = await run(
      {
        rootfs: sb.rootfs,
        layers: [{ stdinBytes: l1.length }, { stdinBytes: l2.length }],
        ownership: 'squash',
      },
      new ByteSlices(chunked(Buffer.concat([l1, l2]), [7, 1000, 3])),
    );
    expect(res).toMatchObject({ ok: true, stats: { entries: 4, whiteouts: 1 } });
    expect(await fsp.readdir(path.join(sb.rootfs, 'etc'))).toEqual(['a']);
    expect(await fsp.readFile(path.join(sb.rootfs, 'etc/a'), 'utf8')).toBe('two');
  });

  it('refuses zstd data by its magic bytes, and a short stream', async () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    expect(
      await run(
        { rootfs: sb.rootfs, layers: [{ stdinBytes: zstd.length }], ownership: 'squash' },
        new ByteSlices(chunked(zstd, [3])),
      ),
    ).toMatchObject({ ok: false, error: { code: 'IMAGE_UNSUPPORTED_COMPRESSION' } });
    const l = await tarOf([file('a', 'x')]);
    expect(
      await run(
        { rootfs: sb.rootfs, layers: [{ stdinBytes: l.length + 512 }], ownership: 'squash' },
        new ByteSlices(chunked(l, [100])),
      ),
    ).toMatchObject({ ok: false });
  });

  it('without stdin data a stdinBytes layer is a bad request', async () => {
    expect(await run({ rootfs: sb.rootfs, layers: [{ stdinBytes: 1 }], ownership: 'squash' })).toMatchObject({
      ok: false,
      error: { code: 'IMAGE_WORKER_BAD_INPUT' },
    });
  });
});

describe('mount points', () => {
  it('creates the directories and files runc mounts over, inside the root even through a symlinked /etc', async () => {
    const outside = path.join(sb.dir, 'elsewhere');
    await fsp.mkdir(outside);
    // An image whose /etc points at an absolute path: it must resolve inside the root.
    await fsp.mkdir(path.join(sb.rootfs, 'private', 'etc'), { recursive: true });
    await fsp.symlink(outside, path.join(sb.rootfs, 'etc'));
    await fsp.writeFile(path.join(sb.rootfs, 'private', 'etc', 'hostname'), 'keep');
    // outside's own path exists inside the root as /<outside>: make the link target resolve there.
    await fsp.mkdir(path.join(sb.rootfs, outside), { recursive: true });
    makeMountPoints(sb.rootfs);
    expect(await fsp.readdir(outside)).toEqual([]);
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'run'])
      expect((await fsp.stat(path.join(sb.rootfs, d))).isDirectory()).toBe(true);
    expect((await fsp.readdir(path.join(sb.rootfs, outside))).sort()).toEqual([
      'hostname',
      'hosts',
      'resolv.conf',
    ]);
  });

  it('leaves existing files and links alone, and a file where a directory should be', async () => {
    await fsp.mkdir(path.join(sb.rootfs, 'etc'));
    await fsp.writeFile(path.join(sb.rootfs, 'etc', 'hosts'), '127.0.0.1 keep\n');
    await fsp.symlink('/nowhere', path.join(sb.rootfs, 'etc', 'resolv.conf'));
    await fsp.writeFile(path.join(sb.rootfs, 'proc'), 'not a dir');
    makeMountPoints(sb.rootfs);
    expect(await fsp.readFile(path.join(sb.rootfs, 'etc', 'hosts'), 'utf8')).toBe('127.0.0.1 keep\n');
    expect(await fsp.readlink(path.join(sb.rootfs, 'etc', 'resolv.conf'))).toBe('/nowhere');
    expect(await fsp.readFile(path.join(sb.rootfs, 'proc'), 'utf8')).toBe('not a dir');
    expect(await fsp.readFile(path.join(sb.rootfs, 'etc', 'hostname'), 'utf8')).toBe('');
  });

  it('run() makes them after the layers when asked', async () => {
    const l = await tarOf([file('bin/sh', '#!')]);
    const p = path.join(sb.dir, 'l');
    await fsp.writeFile(p, l);
    expect(
      await run({ rootfs: sb.rootfs, layers: [{ path: p }], ownership: 'squash', mountPoints: true }),
    ).toMatchObject({ ok: true });
    expect((await fsp.readdir(sb.rootfs)).sort()).toEqual(['bin', 'dev', 'etc', 'proc', 'run', 'sys', 'tmp']);
  });
});

describe('BlobFollower', () => {
  it('reads what has been written, waits for more, and ends only when finished', async () => {
    const f = path.join(sb.dir, 'blob');
    const fh = await fsp.open(f, 'w');
    const follower = new BlobFollower();
    follower.opened(f);
    const got = collect(follower.read());
    await fh.write(Buffer.from('hello '));
    follower.wrote(6);
    await new Promise((r) => setTimeout(r, 20));
    await fh.write(Buffer.from('world'));
    follower.wrote(11);
    // Renamed away (as the store does) — the open descriptor still reads it.
    await fsp.rename(f, f + '.final');
    await fh.close();
    follower.finish();
    expect((await got).toString()).toBe('hello world');
    // A second reader (a layer listed twice) reads it all again.
    expect((await collect(follower.read())).toString()).toBe('hello world');
    follower.close();
  });

  it('a failed download fails its readers with the download error', async () => {
    const f = path.join(sb.dir, 'blob');
    await fsp.writeFile(f, 'partial');
    const follower = new BlobFollower();
    follower.opened(f);
    follower.wrote(7);
    const got = collect(follower.read());
    follower.fail(Object.assign(new Error('bad digest'), { code: 'IMAGE_DIGEST_MISMATCH' }));
    await expect(got).rejects.toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
    follower.close();
  });

  it('complete() serves a blob already in the store', async () => {
    const f = path.join(sb.dir, 'blob');
    await fsp.writeFile(f, 'stored');
    const follower = BlobFollower.complete(f, 6);
    expect((await collect(follower.read())).toString()).toBe('stored');
    follower.close();
  });
});

void symlink;
