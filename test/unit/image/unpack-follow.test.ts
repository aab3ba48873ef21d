/**
 * The unpack worker's followed layers (blobs read from their files while `moat pull` writes
 * them, told how far by follow events), FollowFeed, headOf, the mount points it makes, and
 * BlobFollower.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobFollower } from '../../../src/image/blob-follower.js';
import { FollowFeed } from '../../../src/image/unpack-feed.js';
import { headOf, makeMountPoints, parseRequest, run } from '../../../src/image/unpack-worker.js';
import { dir, file, gz, sandbox, symlink, tarOf, type Sandbox } from './fixtures-unpack/tar.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** Chunks of `data` cut at awkward places, as a reader may get them. */
function chunked(data: Buffer, sizes: number[]): AsyncIterable<Buffer> {
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

const tick = () => new Promise((r) => setTimeout(r, 5));

/**
 * Write `data` to `file` in pieces, sending the follow events the pull would send for blob `f`
 * (file, totals, done) to `feed`; optionally rename the file (as the store commits it) before
 * the first event, as when the worker hears of a blob only after it was complete.
 */
async function download(
  feed: FollowFeed,
  f: number,
  file: string,
  data: Buffer,
  opts: { pieces?: number[]; renameTo?: string } = {},
): Promise<void> {
  const fh = await fsp.open(file, 'w');
  const send = (ev: object) => feed.line(JSON.stringify({ f, ...ev }));
  if (!opts.renameTo) send({ file });
  let at = 0;
  for await (const c of chunked(data, opts.pieces ?? [5])) {
    await fh.write(c);
    at += c.length;
    if (!opts.renameTo) send({ wrote: at });
    await tick();
  }
  await fh.close();
  if (opts.renameTo) {
    await fsp.rename(file, opts.renameTo);
    send({ file });
    send({ wrote: at });
  }
  send({ done: true });
}

describe('headOf', () => {
  it('gives the first bytes across chunk boundaries and the whole stream again', async () => {
    const { head, rest } = await headOf(chunked(Buffer.from('abcdefgh'), [1, 2]), 6);
    expect(head.toString()).toBe('abcdef');
    expect((await collect(rest)).toString()).toBe('abcdefgh');
  });

  it('a stream shorter than asked gives what there is', async () => {
    const { head, rest } = await headOf(chunked(Buffer.from('abc'), [2]), 6);
    expect(head.toString()).toBe('abc');
    expect((await collect(rest)).toString()).toBe('abc');
  });
});

describe('FollowFeed (the worker side of follow events)', () => {
  it('reads a blob as it is written, and ends when it is done', async () => {
    const file = path.join(sb.dir, 'blob.tmp');
    const feed = new FollowFeed(new Map([[0, path.join(sb.dir, 'blob')]]));
    const data = Buffer.from('the quick brown fox jumps over the lazy dog');
    const got = collect(feed.follower(0).read());
    await download(feed, 0, file, data, { pieces: [3, 7] });
    expect((await got).equals(data)).toBe(true);
    feed.close();
  });

  it('opens the final name when the temporary one is gone (renamed before the worker heard of it)', async () => {
    const final = path.join(sb.dir, 'blob');
    const feed = new FollowFeed(new Map([[0, final]]));
    const got = collect(feed.follower(0).read());
    await download(feed, 0, path.join(sb.dir, 'blob.tmp'), Buffer.from('committed'), { renameTo: final });
    expect((await got).toString()).toBe('committed');
    feed.close();
  });

  it('a malformed or unknown event is IMAGE_WORKER_BAD_INPUT and fails the readers', async () => {
    for (const line of ['{', '[1]', '{"f":7,"done":true}', '{"f":0,"what":1}', '{"f":0,"wrote":-5}']) {
      const feed = new FollowFeed(new Map([[0, path.join(sb.dir, 'blob')]]));
      const got = collect(feed.follower(0).read());
      expect(() => feed.line(line)).toThrow(expect.objectContaining({ code: 'IMAGE_WORKER_BAD_INPUT' }));
      await expect(got).rejects.toMatchObject({ code: 'IMAGE_WORKER_BAD_INPUT' });
    }
  });

  it('events that stop before done (the pull died) fail the reader with IMAGE_LAYER_UNREADABLE', async () => {
    const file = path.join(sb.dir, 'blob.tmp');
    await fsp.writeFile(file, 'part');
    const feed = new FollowFeed(new Map([[0, path.join(sb.dir, 'blob')]]));
    const got = collect(feed.follower(0).read());
    feed.line(JSON.stringify({ f: 0, file }));
    feed.line(JSON.stringify({ f: 0, wrote: 4 }));
    feed.ended();
    await expect(got).rejects.toMatchObject({ code: 'IMAGE_LAYER_UNREADABLE' });
    feed.close();
  });

  it('done for a blob whose file never existed fails its reader', async () => {
    const feed = new FollowFeed(new Map([[0, path.join(sb.dir, 'never')]]));
    const got = collect(feed.follower(0).read());
    feed.line(JSON.stringify({ f: 0, file: path.join(sb.dir, 'never.tmp') }));
    feed.line(JSON.stringify({ f: 0, done: true }));
    await expect(got).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('unpack worker: followed layers', () => {
  it('parses follow layers and refuses ambiguous or bad ones', () => {
    expect(
      parseRequest({ rootfs: '/r', layers: [{ follow: 0, final: '/b/x' }], ownership: 'squash' }),
    ).toEqual({ rootfs: '/r', layers: [{ follow: 0, final: '/b/x' }], ownership: 'squash' });
    for (const layers of [
      [{ follow: -1, final: '/x' }],
      [{ follow: 1.5, final: '/x' }],
      [{ follow: 0 }],
      [{ follow: 0, final: 'rel' }],
      [{ follow: 1, final: '/x', path: '/x' }],
    ])
      expect(() => parseRequest({ rootfs: '/r', layers, ownership: 'squash' })).toThrow(
        expect.objectContaining({ code: 'IMAGE_WORKER_BAD_INPUT' }),
      );
    expect(() => parseRequest({ rootfs: '/r', layers: [], ownership: 'squash', mountPoints: 'yes' })).toThrow(
      expect.objectContaining({ code: 'IMAGE_WORKER_BAD_INPUT' }),
    );
  });

  it('applies a gzip and a plain layer, in order, while they are written; a layer listed twice is read twice', async () => {
    const l1 = gz(await tarOf([dir('etc/'), file('etc/a', 'one'), file('etc/b', 'b')]));
    const l2 = await tarOf([file('etc/a', 'two'), file('etc/.wh.b')]);
    const finals = new Map([
      [0, path.join(sb.dir, 'b0')],
      [1, path.join(sb.dir, 'b1')],
    ]);
    const feed = new FollowFeed(finals);
    const res = run(
      {
        rootfs: sb.rootfs,
        layers: [
          { follow: 0, final: finals.get(0)! },
          { follow: 1, final: finals.get(1)! },
          { follow: 0, final: finals.get(0)! },
        ],
        ownership: 'squash',
      },
      feed,
    );
    // The second layer downloads first, both in small pieces.
    await download(feed, 1, path.join(sb.dir, 't1'), l2, { pieces: [100, 7] });
    await download(feed, 0, path.join(sb.dir, 't0'), l1, { pieces: [3, 40] });
    expect(await res).toMatchObject({ ok: true, stats: { entries: 7, whiteouts: 1 } });
    expect((await fsp.readdir(path.join(sb.rootfs, 'etc'))).sort()).toEqual(['a', 'b']);
    expect(await fsp.readFile(path.join(sb.rootfs, 'etc/a'), 'utf8')).toBe('one');
    feed.close();
  });

  it('refuses zstd data by its magic bytes, and a layer whose download stopped', async () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    let feed = new FollowFeed(new Map([[0, path.join(sb.dir, 'z')]]));
    let res = run(
      { rootfs: sb.rootfs, layers: [{ follow: 0, final: path.join(sb.dir, 'z') }], ownership: 'squash' },
      feed,
    );
    await download(feed, 0, path.join(sb.dir, 'zt'), zstd);
    expect(await res).toMatchObject({ ok: false, error: { code: 'IMAGE_UNSUPPORTED_COMPRESSION' } });
    feed.close();

    const l = await tarOf([file('a', 'x'), file('b', 'y')]);
    const part = path.join(sb.dir, 'pt');
    await fsp.writeFile(part, l.subarray(0, 700));
    feed = new FollowFeed(new Map([[0, path.join(sb.dir, 'p')]]));
    res = run(
      { rootfs: sb.rootfs, layers: [{ follow: 0, final: path.join(sb.dir, 'p') }], ownership: 'squash' },
      feed,
    );
    feed.line(JSON.stringify({ f: 0, file: part }));
    feed.line(JSON.stringify({ f: 0, wrote: 700 }));
    feed.ended();
    expect(await res).toMatchObject({ ok: false, error: { code: 'IMAGE_LAYER_UNREADABLE' } });
    feed.close();
  });

  it('without follow events a follow layer is a bad request', async () => {
    expect(
      await run({ rootfs: sb.rootfs, layers: [{ follow: 0, final: '/x' }], ownership: 'squash' }),
    ).toMatchObject({ ok: false, error: { code: 'IMAGE_WORKER_BAD_INPUT' } });
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
    follower.opened(f, true);
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
    follower.opened(f, true);
    follower.wrote(7);
    const got = collect(follower.read());
    follower.fail(Object.assign(new Error('bad digest'), { code: 'IMAGE_DIGEST_MISMATCH' }));
    await expect(got).rejects.toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
    follower.close();
  });

  it('progress() reports the file, the totals (coalesced while the consumer is busy) and the end', async () => {
    const follower = new BlobFollower();
    const events: unknown[] = [];
    const consumed = (async () => {
      for await (const ev of follower.progress()) {
        events.push(ev);
        await tick();
      }
    })();
    follower.opened('/store/blobs/.tmp-1');
    follower.wrote(10);
    await tick();
    follower.wrote(20);
    follower.wrote(30);
    follower.wrote(40);
    await tick();
    await tick();
    follower.finish();
    await consumed;
    expect(events[0]).toEqual({ file: '/store/blobs/.tmp-1' });
    expect(events.at(-1)).toEqual({ done: true });
    expect(events.at(-2)).toEqual({ wrote: 40 });
    // Fewer totals than writes: the consumer was busy while three came in.
    expect(events.length).toBeLessThan(6);
  });

  it('progress() fails with the download error', async () => {
    const follower = new BlobFollower();
    follower.opened('/x');
    const it = follower.progress();
    expect((await it.next()).value).toEqual({ file: '/x' });
    follower.fail(Object.assign(new Error('bad digest'), { code: 'IMAGE_DIGEST_MISMATCH' }));
    await expect(it.next()).rejects.toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
  });
});

void symlink;
