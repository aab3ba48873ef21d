import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import { scanImage, type ScanOptions } from '../../../src/scan/index.js';
import { brief, CLEAN_BASE, storeImage, tempStore, type TarFile } from './helpers.js';

let store: ImageStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(() => cleanup());

async function hazards(layers: TarFile[][], opts: ScanOptions = {}, gzip = true) {
  const img = await storeImage(store, layers, { gzip });
  const r = await scanImage(store, img.record, { cache: false, ...opts });
  return { ...img, result: r, found: r.findings.filter((f) => f.kind === 'hazard') };
}

describe('layer hazards', () => {
  it('reports nothing at all on a clean image', async () => {
    const img = await storeImage(store, [CLEAN_BASE, [{ name: 'srv/app.txt', content: 'hello' }]]);
    const r = await scanImage(store, img.record, { cache: false });
    expect(r.findings).toEqual([]);
    expect(r.layers.map((l) => [l.cached, l.complete])).toEqual([
      [false, true],
      [false, true],
    ]);
  });

  it('an entry climbing out of the root (..) is critical and not handed to scanners', async () => {
    const { found, layerDigests } = await hazards([
      [...CLEAN_BASE, { name: 'usr/../../evil', content: 'x' }],
    ]);
    expect(found.map(brief)).toEqual([{ rule: 'hazard.path-traversal', path: 'usr/../../evil' }]);
    expect(found[0]).toMatchObject({ severity: 'critical', layer: layerDigests[0] });
  });

  it('an absolute entry name', async () => {
    const { found } = await hazards([[...CLEAN_BASE, { name: '/etc/abs', content: 'x' }]]);
    expect(found.map(brief)).toEqual([{ rule: 'hazard.absolute-path', path: 'etc/abs' }]);
  });

  it('a symlink whose relative target climbs above the root; absolute and inner ones are fine', async () => {
    const { found } = await hazards([
      [
        ...CLEAN_BASE,
        { name: 'a/', type: 'directory' },
        { name: 'a/out', type: 'symlink', linkname: '../../etc/shadow' },
        { name: 'a/in', type: 'symlink', linkname: '../etc/passwd' },
        { name: 'a/abs', type: 'symlink', linkname: '/../../etc/passwd' },
      ],
    ]);
    expect(found.map(brief)).toEqual([
      { rule: 'hazard.link-escape', path: 'a/out', detail: '../../etc/shadow' },
    ]);
  });

  it('a hard link to an absolute or climbing target', async () => {
    const { found } = await hazards([
      [
        ...CLEAN_BASE,
        { name: 'h1', type: 'link', linkname: '/etc/shadow' },
        { name: 'h2', type: 'link', linkname: 'etc/../../x' },
        { name: 'h3', type: 'link', linkname: 'etc/passwd' },
      ],
    ]);
    expect(found.map(brief)).toEqual([
      { rule: 'hazard.link-escape', path: 'h1', detail: '/etc/shadow' },
      { rule: 'hazard.link-escape', path: 'h2', detail: 'etc/../../x' },
    ]);
  });

  it('device nodes and FIFOs', async () => {
    const { found } = await hazards([
      [
        ...CLEAN_BASE,
        { name: 'dev/', type: 'directory' },
        { name: 'dev/mem', type: 'character-device' },
        { name: 'dev/sda', type: 'block-device' },
        { name: 'dev/pipe', type: 'fifo' },
      ],
    ]);
    expect(found.map((f) => [f.rule, f.path, f.severity])).toEqual([
      ['hazard.device-node', 'dev/mem', 'high'],
      ['hazard.device-node', 'dev/sda', 'high'],
      ['hazard.fifo', 'dev/pipe', 'low'],
    ]);
  });

  it('a whiteout of a path no lower layer had; one of a path a lower layer had is fine', async () => {
    const { found, layerDigests } = await hazards([
      CLEAN_BASE,
      [
        { name: 'usr/bin/.wh.tool', content: '' },
        { name: 'opt/.wh.ghost', content: '' },
        { name: 'etc/.wh..wh..opq', content: '' },
      ],
    ]);
    expect(found.map(brief)).toEqual([{ rule: 'hazard.whiteout-missing', path: 'opt/ghost' }]);
    expect(found[0].layer).toBe(layerDigests[1]);
  });

  it('a whiteout naming `..`', async () => {
    const { found } = await hazards([CLEAN_BASE, [{ name: 'etc/.wh...', content: '' }]]);
    expect(found.map(brief)).toEqual([{ rule: 'hazard.bad-whiteout', path: 'etc/.wh...' }]);
  });

  it('duplicate entries in one layer (two directories are not flagged)', async () => {
    const { found } = await hazards([
      [
        ...CLEAN_BASE,
        { name: 'etc/', type: 'directory' },
        { name: 'etc/motd', content: 'one' },
        { name: './etc/motd', type: 'symlink', linkname: '/dev/null' },
      ],
    ]);
    expect(found.map(brief)).toEqual([
      { rule: 'hazard.duplicate-entry', path: 'etc/motd', detail: 'file then symlink' },
    ]);
  });

  it('a decompression bomb stops the read with a finding', async () => {
    const { found, result } = await hazards(
      [[...CLEAN_BASE, { name: 'zeros', content: Buffer.alloc(4 << 20) }, { name: 'after', content: 'x' }]],
      { limits: { maxRatio: 50, bombMinBytes: 1 << 20 } },
    );
    expect(found.map((f) => f.rule)).toEqual(['hazard.decompression-bomb']);
    expect(found[0].detail).toMatch(/^\d+ bytes read, ratio > 50$/);
    expect(result.layers[0].complete).toBe(false);
    expect(result.layers[0].bytes).toBeLessThan(4 << 20);
  });

  it('plain tar layers have no ratio, and the same zeros gzipped pass under the default limits', async () => {
    const layers = [[...CLEAN_BASE, { name: 'zeros', content: Buffer.alloc(4 << 20) }]];
    expect((await hazards(layers, {}, false)).found).toEqual([]);
    expect((await hazards(layers)).found).toEqual([]);
  });

  it('absurd counts: entries per layer, bytes per layer and in the image, layers', async () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: 'x' }));
    const e = await hazards([[...CLEAN_BASE, ...many]], { limits: { maxEntriesPerLayer: 10 } });
    expect(e.found.map(brief)).toEqual([{ rule: 'hazard.too-many-entries', detail: 'limit 10 per layer' }]);
    expect(e.result.layers[0]).toMatchObject({ entries: 10, complete: false });

    const big = [{ name: 'big', content: Buffer.alloc(200_000, 1) }];
    const b = await hazards([CLEAN_BASE, big], { limits: { maxLayerBytes: 100_000 } });
    expect(b.found.map(brief)).toEqual([{ rule: 'hazard.too-many-bytes', detail: 'limit 100000 per layer' }]);

    const t = await hazards([CLEAN_BASE, big], { limits: { maxTotalEntries: 8 } });
    expect(t.found.map(brief)).toEqual([{ rule: 'hazard.too-many-entries', detail: 'limit 8 per image' }]);

    const l = await hazards([CLEAN_BASE, [{ name: 'a', content: 'x' }]], { limits: { maxLayers: 1 } });
    expect(l.found.map(brief)).toEqual([{ rule: 'hazard.too-many-layers', detail: '2 layers' }]);
  });

  it('a corrupt gzip layer is an error, not a silent pass', async () => {
    const img = await storeImage(store, [CLEAN_BASE]);
    const bad = gzipSync(Buffer.alloc(10_000, 7)).subarray(0, 200);
    const put = await store.putBlob(Buffer.concat([bad]));
    const record = {
      ...img.record,
      layers: [{ ...img.record.layers[0], digest: put.digest, size: put.size }],
    };
    await expect(scanImage(store, record, { cache: false })).rejects.toMatchObject({
      code: 'IMAGE_CORRUPT_LAYER',
    });
  });
});
