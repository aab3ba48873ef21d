/** container prune's choice, disk usage's sharing, and how docker words both. */
import { describe, expect, it } from 'vitest';
import { containerPruneQuery } from '../../../src/api/docker/containers-prune.js';
import { dockerDiskUsage } from '../../../src/api/docker/system-df.js';
import { dfSummary, pruneFilterBody } from '../../../src/cli/prune.js';
import type { ImageRecord } from '../../../src/image/types.js';
import { imageUsage, type DiskUsage } from '../../../src/runtime/disk-usage.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import { prunable } from '../../../src/runtime/prune.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';

const rec = (status: ContainerRecord['status'], created: string, labels: Record<string, string> = {}) =>
  ({ status, created, options: { ...defaultRunOptions('x'), labels } }) as ContainerRecord;

describe('prunable', () => {
  it('stopped containers only: exited and created; not running, not broken', () => {
    expect(
      ['exited', 'created', 'running', 'broken'].map((s) =>
        prunable(rec(s as never, '2026-01-01T00:00:00Z'), {}),
      ),
    ).toEqual([true, true, false, false]);
  });

  it('until: created before; label: every one holds; label!: none does', () => {
    const c = rec('exited', '2026-01-01T00:00:00Z', { app: 'web', keep: '' });
    expect(prunable(c, { until: Date.parse('2026-01-02T00:00:00Z') })).toBe(true);
    expect(prunable(c, { until: Date.parse('2025-12-31T00:00:00Z') })).toBe(false);
    expect(prunable(c, { label: ['app=web'] })).toBe(true);
    expect(prunable(c, { label: ['app=web', 'tier'] })).toBe(false);
    expect(prunable(c, { labelNot: ['keep'] })).toBe(false);
    expect(prunable(c, { labelNot: ['app=db'] })).toBe(true);
  });

  it('docker’s filters, from the API’s query and the CLI’s flags, to one body', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(
      containerPruneQuery(JSON.stringify({ until: ['24h'], label: ['a=b'], 'label!': ['c'] }), now),
    ).toEqual({
      until: Date.parse('2026-01-01T00:00:00Z') / 1000,
      label: ['a=b'],
      labelNot: ['c'],
    });
    expect(containerPruneQuery(null)).toEqual({});
    expect(() => containerPruneQuery(JSON.stringify({ status: ['exited'] }))).toThrow(/status/);
    expect(() => containerPruneQuery(JSON.stringify({ until: ['someday'] }))).toThrow(/someday/);
    expect(pruneFilterBody(['until=1700000000', 'label!=keep'])).toEqual({
      until: 1700000000,
      labelNot: ['keep'],
    });
    expect(() => pruneFilterBody(['name=x'])).toThrow(/invalid filter 'name'/);
  });
});

const layer = (digest: string, size: number) => ({
  digest,
  size,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
});
const image = (id: string, layers: ReturnType<typeof layer>[], names = [`${id}:latest`]) =>
  ({
    id,
    manifestDigest: id,
    names,
    created: '2026-01-01T00:00:00Z',
    layers,
    size: 0,
  }) as unknown as ImageRecord;

describe('disk usage', () => {
  it('images: their layers, the shared part, each layer counted once in the total', () => {
    const imgs = [
      image('a', [layer('l1', 100), layer('l2', 50)]),
      image('b', [layer('l1', 100), layer('l3', 30)]),
      image('c', [layer('l4', 7)]),
    ];
    const u = imageUsage(imgs, [{ imageId: 'a' }, { imageId: 'a' }, { imageId: 'c' }]);
    expect(u.layersSize).toBe(187);
    expect(u.images.map((i) => [i.id, i.size, i.sharedSize, i.containers])).toEqual([
      ['a', 150, 100, 2],
      ['b', 130, 100, 0],
      ['c', 7, 0, 1],
    ]);
  });

  it('docker system df’s summary, computed as the docker CLI computes it', () => {
    const d: DiskUsage = {
      layersSize: 16_430_000,
      images: [
        {
          id: 'a',
          names: ['a'],
          repoDigests: [],
          created: '',
          size: 4_800_000,
          sharedSize: 0,
          containers: 2,
        },
        {
          id: 'b',
          names: ['b'],
          repoDigests: [],
          created: '',
          size: 11_630_000,
          sharedSize: 0,
          containers: 0,
        },
      ],
      containers: [
        {
          id: 'c1',
          name: 'x',
          image: 'a',
          imageId: 'a',
          command: [],
          created: '',
          state: 'running',
          status: 'Up',
          sizeRw: 100,
          sizeRootFs: 0,
        },
        {
          id: 'c2',
          name: 'y',
          image: 'a',
          imageId: 'a',
          command: [],
          created: '',
          state: 'exited',
          status: 'Exited (0)',
          sizeRw: 212,
          sizeRootFs: 0,
        },
      ],
      volumes: [
        {
          name: 'db',
          mountpoint: '/v/db/_data',
          created: '',
          labels: {},
          anonymous: false,
          size: 300,
          refCount: 1,
        },
        {
          name: 'old',
          mountpoint: '/v/old/_data',
          created: '',
          labels: {},
          anonymous: true,
          size: 100,
          refCount: 0,
        },
      ],
    };
    expect(dfSummary(d)).toEqual([
      ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
      ['Images', '2', '1', '16.43MB', '11.63MB (70%)'],
      ['Containers', '2', '1', '312B', '212B (67%)'],
      ['Local Volumes', '2', '1', '400B', '100B (25%)'],
      ['Build Cache', '0', '0', '0B', '0B'],
    ]);
    const empty: DiskUsage = { layersSize: 0, images: [], containers: [], volumes: [] };
    expect(dfSummary(empty)[1]).toEqual(['Images', '0', '0', '0B', '0B']);
    const doc = dockerDiskUsage(d) as {
      LayersSize: number;
      Images: { SharedSize: number; Containers: number }[];
      Volumes: unknown[];
      BuildCache: unknown[];
    };
    expect(doc.LayersSize).toBe(16_430_000);
    expect(doc.Images[0]).toMatchObject({ SharedSize: 0, Containers: 2 });
    expect(doc.BuildCache).toEqual([]);
    expect((doc.Volumes as { Name: string; UsageData: object }[]).map((v) => [v.Name, v.UsageData])).toEqual([
      ['db', { Size: 300, RefCount: 1 }],
      ['old', { Size: 100, RefCount: 0 }],
    ]);
  });
});
