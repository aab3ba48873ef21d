/** Limits on what an image unpacks to: bytes and entries over all its layers, checked before writing. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS, toWire, unpackLimitsFromEnv } from '../../../src/image/unpack-limits.js';
import { parseRequest, run } from '../../../src/image/unpack-worker.js';
import { dir, file, gz, hardlink, sandbox, tarOf, type Sandbox } from './fixtures-unpack/tar.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const MiB = 1 << 20;

const blob = async (name: string, data: Buffer): Promise<string> => {
  const p = path.join(sb.dir, name);
  await fsp.writeFile(p, data);
  return p;
};

const unpack = (paths: string[], limits?: { maxBytes: number | null; maxEntries: number | null }) =>
  run({ rootfs: sb.rootfs, layers: paths.map((p) => ({ path: p })), ownership: 'squash', limits });

describe('unpack limits', () => {
  it('refuses a file whose declared size passes the byte limit before writing it (gzip of zeros)', async () => {
    const zeros = Buffer.alloc(64 * MiB);
    const layer = gz(await tarOf([dir('data/'), file('data/zeros', zeros)]));
    expect(layer.length).toBeLessThan(MiB); // a small blob ...
    const p = await blob('bomb', layer);
    const t0 = performance.now();
    const res = await unpack([p], { maxBytes: 16 * MiB, maxEntries: null });
    expect(res).toMatchObject({ ok: false, error: { code: 'IMAGE_UNPACK_LIMIT' } });
    if (res.ok) throw new Error('unreachable');
    expect(res.error.hint).toMatch(/MOAT_UNPACK_MAX_BYTES/);
    expect(res.error.message).toMatch(/16777216 bytes/);
    // ... refused at its header: nothing of it was written
    await expect(fsp.lstat(path.join(sb.rootfs, 'data/zeros'))).rejects.toThrow(/ENOENT/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('counts bytes over all layers, a replaced file included', async () => {
    const l1 = await blob('l1', await tarOf([file('a', Buffer.alloc(600 * 1024))]));
    const l2 = await blob('l2', await tarOf([file('a', Buffer.alloc(600 * 1024))]));
    const res = await unpack([l1, l2], { maxBytes: MiB, maxEntries: null });
    expect(res).toMatchObject({ ok: false, error: { code: 'IMAGE_UNPACK_LIMIT' } });
    // either layer alone fits
    expect(await unpack([l2], { maxBytes: MiB, maxEntries: null })).toMatchObject({ ok: true });
  });

  it('a hardlink adds an entry but no bytes', async () => {
    const links = Array.from({ length: 8 }, (_, i) => hardlink(`l${i}`, 'big'));
    const p = await blob('links', await tarOf([file('big', Buffer.alloc(900 * 1024)), ...links]));
    const res = await unpack([p], { maxBytes: MiB, maxEntries: 9 });
    expect(res).toMatchObject({ ok: true, stats: { entries: 9, bytes: 900 * 1024 } });
  });

  it('refuses more entries than the limit, empty files and directories alike', async () => {
    const many = [dir('d/'), ...Array.from({ length: 20 }, (_, i) => file(`d/f${i}`))];
    const p = await blob('many', await tarOf(many));
    const res = await unpack([p], { maxBytes: null, maxEntries: 10 });
    expect(res).toMatchObject({ ok: false, error: { code: 'IMAGE_UNPACK_LIMIT' } });
    if (res.ok) throw new Error('unreachable');
    expect(res.error.hint).toMatch(/MOAT_UNPACK_MAX_ENTRIES/);
    expect((await fsp.readdir(path.join(sb.rootfs, 'd'))).length).toBe(9);
  });

  it('counts entries over all layers', async () => {
    const l1 = await blob('l1', await tarOf([file('a'), file('b')]));
    const l2 = await blob('l2', await tarOf([file('c'), file('d')]));
    expect(await unpack([l1, l2], { maxBytes: null, maxEntries: 3 })).toMatchObject({
      ok: false,
      error: { code: 'IMAGE_UNPACK_LIMIT' },
    });
  });

  it('null, or no limits at all, is no limit', async () => {
    const p = await blob('l', await tarOf([file('a', Buffer.alloc(2 * MiB)), file('b')]));
    expect(await unpack([p], { maxBytes: null, maxEntries: null })).toMatchObject({ ok: true });
    expect(await unpack([p])).toMatchObject({ ok: true });
  });
});

describe('unpack limits: configuration', () => {
  it('defaults, the environment, 0 for none, typos ignored', () => {
    expect(unpackLimitsFromEnv({})).toEqual(DEFAULTS);
    expect(DEFAULTS.maxBytes).toBeGreaterThanOrEqual(16 * 2 ** 30);
    expect(DEFAULTS.maxEntries).toBeGreaterThanOrEqual(1_000_000);
    expect(unpackLimitsFromEnv({ MOAT_UNPACK_MAX_BYTES: '1024', MOAT_UNPACK_MAX_ENTRIES: '0' })).toEqual({
      maxBytes: 1024,
      maxEntries: Infinity,
    });
    expect(unpackLimitsFromEnv({ MOAT_UNPACK_MAX_BYTES: '10G', MOAT_UNPACK_MAX_ENTRIES: '-1' })).toEqual(
      DEFAULTS,
    );
    expect(toWire({ maxBytes: Infinity, maxEntries: 5 })).toEqual({ maxBytes: null, maxEntries: 5 });
  });

  it('the worker request checks its limits', () => {
    const req = { rootfs: '/r', layers: [], ownership: 'squash' };
    expect(parseRequest({ ...req, limits: { maxBytes: 5, maxEntries: null } }).limits).toEqual({
      maxBytes: 5,
      maxEntries: null,
    });
    for (const limits of [
      null,
      5,
      { maxBytes: 0, maxEntries: 1 },
      { maxBytes: 1.5, maxEntries: 1 },
      { maxBytes: 1 },
    ])
      expect(() => parseRequest({ ...req, limits }), JSON.stringify(limits)).toThrow(/limits/);
  });
});
