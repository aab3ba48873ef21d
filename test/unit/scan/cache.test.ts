import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import { openLayerStream } from '../../../src/image/unpack-stream.js';
import { scanImage, type ScanOptions } from '../../../src/scan/index.js';
import { ScanCache } from '../../../src/scan/layers/cache.js';
import type { LayerRef } from '../../../src/scan/layers/walk.js';
import { CLEAN_BASE, fake, storeImage, tempStore } from './helpers.js';

let store: ImageStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(() => cleanup());

/** Opens layers as the scanner does, counting which blobs it read. */
function counting(): { opened: string[]; open: (l: LayerRef) => Readable } {
  const opened: string[] = [];
  return {
    opened,
    open: (l) => {
      opened.push(l.digest);
      return openLayerStream(store.blobPath(l.digest), l.mediaType);
    },
  };
}

const many = Array.from({ length: 300 }, (_, i) => ({ name: `srv/f${i}.txt`, content: `line ${i}\n` }));

describe('the scan cache', () => {
  it('a second scan of the image reads no layer blob and returns the same result', async () => {
    const img = await storeImage(store, [
      CLEAN_BASE,
      [...many, { name: 'srv/key.txt', content: fake.github() }],
    ]);
    const c1 = counting();
    const first = await scanImage(store, img.record, { open: c1.open });
    expect(c1.opened).toEqual(img.layerDigests);
    expect(first.cached).toBe(false);
    expect(first.findings.map((f) => f.rule)).toEqual(['secret.github-token']);

    const c2 = counting();
    const t = performance.now();
    const second = await scanImage(store, img.record, { open: c2.open });
    const ms = performance.now() - t;
    expect(c2.opened).toEqual([]);
    expect(second.cached).toBe(true);
    expect(second.layers.every((l) => l.cached)).toBe(true);
    expect(second.findings).toEqual(first.findings);
    expect(second.layers.map((l) => [l.digest, l.entries, l.bytes])).toEqual(
      first.layers.map((l) => [l.digest, l.entries, l.bytes]),
    );
    expect(ms).toBeLessThan(50);
  });

  it('other options miss the image record but hit every layer; an image sharing a base reads only its own layers', async () => {
    const img = await storeImage(store, [CLEAN_BASE, [{ name: 'srv/key.txt', content: fake.github() }]]);
    await scanImage(store, img.record);
    const c = counting();
    const allowed: ScanOptions = { open: c.open, secrets: { allow: [{ rule: 'secret.github-token' }] } };
    const r = await scanImage(store, img.record, allowed);
    expect(c.opened).toEqual([]);
    expect(r.cached).toBe(false);
    expect(r.layers.map((l) => l.cached)).toEqual([true, true]);
    expect(r.findings).toEqual([]);

    const other = await storeImage(store, [CLEAN_BASE, [{ name: 'srv/other', content: 'x' }]]);
    const c2 = counting();
    const o = await scanImage(store, other.record, { open: c2.open });
    expect(c2.opened).toEqual([other.layerDigests[1]]);
    expect(o.layers.map((l) => l.cached)).toEqual([true, false]);
  });

  it('other limits or parsers are a miss, and cache: false neither reads nor writes', async () => {
    const img = await storeImage(store, [CLEAN_BASE]);
    await scanImage(store, img.record);
    for (const opts of [
      { limits: { maxFileBytes: 1000 } },
      { parsers: [{ name: 'x', wants: () => false, maxBytes: 1, parse: () => [] }] },
      { cache: false as const },
    ]) {
      const c = counting();
      await scanImage(store, img.record, { ...opts, open: c.open });
      expect(c.opened).toEqual(img.layerDigests);
    }
    const bare = await storeImage(store, [[{ name: 'x', content: 'y' }]]);
    await scanImage(store, bare.record, { cache: false });
    await expect(fsp.stat(new ScanCache(store.root).layerFile(bare.layerDigests[0]))).rejects.toThrow();
  });

  it('a damaged record is a miss and is replaced', async () => {
    const img = await storeImage(store, [CLEAN_BASE]);
    const cache = new ScanCache(store.root);
    await scanImage(store, img.record, { secrets: { defaultAllow: false } });
    await fsp.writeFile(cache.layerFile(img.layerDigests[0]), 'garbage');
    const c = counting();
    const r = await scanImage(store, img.record, { open: c.open });
    expect(c.opened).toEqual(img.layerDigests);
    expect(r.findings).toEqual([]);
    const c2 = counting();
    await scanImage(store, img.record, { open: c2.open, secrets: { defaultAllow: true, allow: [] } });
    expect(c2.opened).toEqual([]);
  });

  it('records over the size limit are not written; the directory is trimmed to its budget, oldest first', async () => {
    const a = await storeImage(store, [[{ name: 'a', content: 'a' }]]);
    const b = await storeImage(store, [[{ name: 'b', content: 'b' }]]);
    await scanImage(store, a.record, { cache: { maxRecordBytes: 10 } });
    const cache = new ScanCache(store.root);
    await expect(fsp.stat(cache.layerFile(a.layerDigests[0]))).rejects.toThrow();

    await scanImage(store, a.record);
    const total = async (): Promise<number> => {
      let n = 0;
      for (const sub of ['layers', 'images']) {
        for (const f of await fsp.readdir(`${cache.dir}/${sub}`))
          n += (await fsp.stat(`${cache.dir}/${sub}/${f}`)).size;
      }
      return n;
    };
    const budget = (await total()) + 10;
    await new Promise((r) => setTimeout(r, 20));
    await scanImage(store, b.record, { cache: { maxTotalBytes: budget } });
    await expect(fsp.stat(cache.layerFile(a.layerDigests[0]))).rejects.toThrow();
    await fsp.stat(cache.layerFile(b.layerDigests[0]));
    expect(await total()).toBeLessThanOrEqual(budget);
  });
});
