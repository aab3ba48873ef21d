/** docker history's rows from an image's config: newest first, layers matched to non-empty entries. */
import { describe, expect, it } from 'vitest';
import { historyRows, MISSING } from '../../../src/image/history.js';
import type { ImageConfig, ImageRecord } from '../../../src/image/types.js';

const layer = (n: number, size: number) => ({
  digest: `sha256:${String(n).repeat(64)}`,
  size,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  diffId: `sha256:${String(n + 1).repeat(64)}`,
});

const image: ImageRecord = {
  id: 'sha256:' + 'a'.repeat(64),
  manifestDigest: 'sha256:' + 'b'.repeat(64),
  names: ['localhost/app:1'],
  created: '2026-01-02T00:00:00Z',
  layers: [layer(1, 100), layer(2, 200)],
  size: 300,
};

const config = (history: ImageConfig['history']): ImageConfig => ({
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: image.layers.map((l) => l.diffId) },
  ...(history ? { history } : {}),
});

describe('historyRows', () => {
  it('lists entries newest first; empty layers take no layer; the newest row has the ID and names', () => {
    const rows = historyRows(
      image,
      config([
        { created: '2026-01-01T00:00:00Z', created_by: 'ADD rootfs' },
        { created: '2026-01-01T00:01:00Z', created_by: 'ENV A=1', empty_layer: true },
        { created: '2026-01-02T00:00:00Z', created_by: 'sh -c make', comment: 'built' },
      ]),
    );
    expect(rows.map((r) => [r.id, r.createdBy, r.size, r.comment])).toEqual([
      [image.id, 'sh -c make', 200, 'built'],
      [MISSING, 'ENV A=1', 0, ''],
      [MISSING, 'ADD rootfs', 100, ''],
    ]);
    expect(rows[0].tags).toEqual(['localhost/app:1']);
    expect(rows[1].tags).toEqual([]);
  });

  it('gives one row per layer when the config has no history', () => {
    const rows = historyRows(image, config(undefined));
    expect(rows.map((r) => r.size)).toEqual([200, 100]);
    expect(rows[0].id).toBe(image.id);
  });
});
