import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRequest, run } from '../../../src/image/unpack-worker.js';
import { dir, file, gz, sandbox, symlink, tarOf, type Sandbox } from './fixtures-unpack/tar.js';

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

describe('unpack worker run()', () => {
  it('applies layers in order and sums the stats', async () => {
    const l1 = await blob(
      'l1',
      gz(await tarOf([dir('etc/'), file('etc/a', 'one', { uid: 5 }), file('etc/b', 'b')])),
    );
    const l2 = await blob('l2', await tarOf([file('etc/a', 'two'), file('etc/.wh.b')]));
    const res = await run({
      rootfs: sb.rootfs,
      layers: [{ path: l1, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }, { path: l2 }],
      ownership: 'squash',
    });
    expect(res).toEqual({
      ok: true,
      stats: {
        entries: 4,
        bytes: 7,
        whiteouts: 1,
        squashedOwners: 1,
        layers: [
          { entries: 3, bytes: 4, whiteouts: 0, squashedOwners: 1 },
          { entries: 1, bytes: 3, whiteouts: 1, squashedOwners: 0 },
        ],
      },
    });
    expect(await fsp.readdir(path.join(sb.rootfs, 'etc'))).toEqual(['a']);
  });

  it('reports the first refusal by code and stops', async () => {
    const bad = await blob('bad', await tarOf([symlink('a', '../../x')]));
    const never = await blob('never', await tarOf([file('never', 'n')]));
    const res = await run({
      rootfs: sb.rootfs,
      layers: [{ path: bad }, { path: never }],
      ownership: 'squash',
    });
    expect(res).toMatchObject({ ok: false, error: { code: 'IMAGE_UNSAFE_LINK' } });
    expect(await fsp.readdir(sb.rootfs)).toEqual([]);
  });

  it('reports zstd and missing blobs with a hint', async () => {
    const zst = await blob('z', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]));
    const res = await run({ rootfs: sb.rootfs, layers: [{ path: zst }], ownership: 'squash' });
    expect(res).toMatchObject({
      ok: false,
      error: { code: 'IMAGE_UNSUPPORTED_COMPRESSION', hint: expect.any(String) },
    });
    const gone = await run({
      rootfs: sb.rootfs,
      layers: [{ path: '/nonexistent/blob' }],
      ownership: 'squash',
    });
    expect(gone).toMatchObject({ ok: false, error: { code: 'IMAGE_LAYER_UNREADABLE' } });
  });

  it('with preserve: chowns as root, or explains EPERM with IMAGE_CHOWN_FAILED', async () => {
    const l = await blob('l', await tarOf([file('owned', 'x', { uid: 1234, gid: 4321 })]));
    const res = await run({ rootfs: sb.rootfs, layers: [{ path: l }], ownership: 'preserve' });
    if (process.getuid?.() === 0) {
      expect(res.ok).toBe(true);
      const st = await fsp.lstat(path.join(sb.rootfs, 'owned'));
      expect([st.uid, st.gid]).toEqual([1234, 4321]);
    } else {
      expect(res).toMatchObject({
        ok: false,
        error: {
          code: 'IMAGE_CHOWN_FAILED',
          message: expect.stringContaining('1234:4321'),
          hint: expect.any(String),
        },
      });
    }
  });

  it('refuses malformed requests with IMAGE_WORKER_BAD_INPUT', async () => {
    for (const input of [
      undefined,
      [],
      { rootfs: 'relative', layers: [], ownership: 'squash' },
      { rootfs: '/r', layers: [], ownership: 'keep' },
      { rootfs: '/r', layers: [{ path: 'rel' }], ownership: 'squash' },
      { rootfs: '/r', layers: [{ path: '/a', mediaType: 3 }], ownership: 'squash' },
      { rootfs: '/r', layers: 'x', ownership: 'squash' },
    ]) {
      expect(await run(input)).toMatchObject({ ok: false, error: { code: 'IMAGE_WORKER_BAD_INPUT' } });
    }
    expect(parseRequest({ rootfs: '/r', layers: [{ path: '/a', extra: 1 }], ownership: 'preserve' })).toEqual(
      {
        rootfs: '/r',
        layers: [{ path: '/a' }],
        ownership: 'preserve',
      },
    );
  });

  it('reports a missing rootfs as IMAGE_UNPACK_FAILED', async () => {
    const l = await blob('l', await tarOf([file('a', 'a')]));
    const res = await run({
      rootfs: path.join(sb.dir, 'no-rootfs'),
      layers: [{ path: l }],
      ownership: 'squash',
    });
    expect(res).toMatchObject({ ok: false, error: { code: 'IMAGE_UNPACK_FAILED' } });
  });
});
