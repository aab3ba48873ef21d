/**
 * `moat pull` unpacks the image's root while the layers download (as the non-root user, in the
 * user namespace), so the first `moat run` starts without unpacking; and bytes whose digest
 * turns out wrong are never committed, even when they unpacked cleanly.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../unit/image/helpers.js';
import { startFakeRegistry, type FakeRegistry } from '../unit/registry/fake-registry.js';
import { mainWorld, needTools, startRegistry, world, type Registry } from './registry-helpers.js';

needTools('docker-registry');

const rootsDir = (w: ReturnType<typeof world>) =>
  path.join(w.env.XDG_DATA_HOME!, 'moat', 'storage', 'rootfs');
const roots = async (w: ReturnType<typeof world>) => (await fsp.readdir(rootsDir(w)).catch(() => [])).sort();

describe('pull unpacks while downloading', () => {
  let reg: Registry;
  let fake: FakeRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
    fake = await startFakeRegistry();
    const p = await mainWorld().moat(['push', 'moat/busybox', `${reg.host}/pu/busybox:1`]);
    expect(p.code, p.stderr).toBe(0);
  });
  afterAll(async () => {
    await reg?.stop();
    await fake?.close();
  });

  it('leaves a ready root behind: the first run does not unpack', async () => {
    const w = world('pu');
    const ref = `${reg.host}/pu/busybox:1`;
    const p = await w.moat(['pull', ref]);
    expect(p.code, p.stderr).toBe(0);
    const id = p.stdout.trim();
    const hex = id.replace(/^sha256:/, '');
    expect(await roots(w)).toEqual([hex, `${hex}.json`]);
    const r = await w.moat(['run', '--rm', ref, 'sh', '-c', 'echo ran; ls /etc/hostname']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ran');
    expect(r.stderr).not.toMatch(/unpacking/);
    // A second pull finds the root made and only says so.
    const again = await w.moat(['pull', ref]);
    expect(again.code, again.stderr).toBe(0);
    expect(await roots(w)).toEqual([hex, `${hex}.json`]);
  });

  it('concurrent pulls of one image both succeed; one root is committed, no temporary tree is left', async () => {
    const w = world('pu-concurrent');
    const ref = `${reg.host}/pu/busybox:1`;
    const [a, b] = await Promise.all([w.moat(['pull', '-q', ref]), w.moat(['pull', '-q', ref])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const hex = a.stdout.trim().replace(/^sha256:/, '');
    expect(await roots(w)).toEqual([hex, `${hex}.json`]);
    const r = await w.moat(['run', '--rm', ref, 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/unpacking/);
  });

  it('image prune removes unpack trees a dead moat left, owned by subordinate IDs, and keeps live ones', async () => {
    const w = world('pu-stale');
    const ref = `${reg.host}/pu/busybox:1`;
    expect((await w.moat(['pull', '-q', ref])).code).toBe(0);
    const dead = spawnSync('true').pid!; // exited and reaped: no process has this pid now
    const stale = path.join(rootsDir(w), `.tmp-0123456789ab-${dead}-0badf00d`);
    const live = path.join(rootsDir(w), `.tmp-0123456789ab-${process.pid}-0000beef`);
    // As an interrupted unpack leaves them: files owned by a subordinate ID, a 0 mode directory.
    for (const d of [stale, live]) {
      const r = spawnSync('unshare', [
        '--user',
        '--map-root-user',
        '--map-auto',
        'sh',
        '-c',
        'mkdir -p "$1/rootfs/etc" && touch "$1/rootfs/etc/f" && chown 5:5 "$1/rootfs/etc/f" && chmod 0 "$1/rootfs/etc"',
        'sh',
        d,
      ]);
      expect(r.status, r.stderr?.toString()).toBe(0);
    }
    const p = await w.moat(['image', 'prune', '--min-age', '0', '--format', 'json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).removedTemp).toContain(stale);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    // the image's own root is untouched
    expect((await roots(w)).filter((n) => !n.startsWith('.'))).toHaveLength(2);
    spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', 'rm', '-rf', live]);
  });

  it('where no user namespace can be made, the pull still stores and verifies the image, says why it did not unpack', async () => {
    const w = world('pu-nouserns');
    // An `unshare` that fails the way it does when the kernel or the setuid helpers refuse.
    const fake = path.join(w.env.HOME!, 'fakebin');
    await fsp.mkdir(fake, { recursive: true });
    await fsp.writeFile(
      path.join(fake, 'unshare'),
      '#!/bin/sh\necho "unshare: write failed /proc/self/uid_map: Operation not permitted" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    w.env.PATH = `${fake}:${process.env.PATH}`;
    const ref = `${reg.host}/pu/busybox:1`;
    const p = await w.moat(['pull', ref]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/not unpacking the image: .*uid_map/);
    expect(await roots(w)).toEqual([]);
    const images = JSON.parse((await w.moat(['images', '--format', 'json'])).stdout) as unknown[];
    expect(images).toHaveLength(1);
    const fsck = await w.moat(['image', 'fsck']);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });

  it('--no-unpack stores the blobs only; the first run unpacks', async () => {
    const w = world('pu-no');
    const ref = `${reg.host}/pu/busybox:1`;
    const p = await w.moat(['pull', '--no-unpack', ref]);
    expect(p.code, p.stderr).toBe(0);
    expect(await roots(w)).toEqual([]);
    const r = await w.moat(['run', '--rm', ref, 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/unpacking/);
  });

  it('a layer whose bytes unpack cleanly but do not match the digest: nothing is committed', async () => {
    // Two plain-tar layers of the same size: the registry serves the wrong one under the right
    // digest. The worker unpacks it without complaint; the digest check must stop the commit.
    const good = await buildImage({ layers: [[{ path: 'etc/marker', content: 'good' }]] }, false);
    const evil = await buildImage({ layers: [[{ path: 'etc/marker', content: 'evil' }]] }, false);
    expect(evil.layers[0].size).toBe(good.layers[0].size);
    fake.addImage('pu/tampered', '1', good);
    fake.blobs.set(good.layers[0].digest, evil.layers[0].bytes);
    const w = world('pu-bad');
    const p = await w.moat(['pull', `${fake.host}/pu/tampered:1`]);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toContain('[IMAGE_DIGEST_MISMATCH]');
    expect(await roots(w)).toEqual([]);
    expect(existsSync(path.join(rootsDir(w), good.configDigest.slice(7)))).toBe(false);
    const images = await w.moat(['images', '--format', 'json']);
    expect(JSON.parse(images.stdout)).toEqual([]);
  });
});
