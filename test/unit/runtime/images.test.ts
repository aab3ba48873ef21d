import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pruneImages, removeImage, type ImageEngine } from '../../../src/runtime/images.js';
import type { ImageRecord } from '../../../src/image/types.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';
import type { MoatError } from '../../../src/errors.js';

const hex = (c: string) => c.repeat(64);
const image = (c: string, names: string[]): ImageRecord => ({
  id: `sha256:${hex(c)}`,
  manifestDigest: `sha256:${hex(c === 'f' ? 'e' : 'f')}`,
  names,
  created: '2024-01-01T00:00:00Z',
  layers: [],
  size: 0,
});
const container = (id: string, imageId: string, status: string) =>
  ({ id: id.repeat(64), name: `c-${id}`, imageId, status }) as unknown as ContainerRecord;

/** An engine with a fake store and containers; `calls` records what changed. */
function fakeEngine(o: { images: ImageRecord[]; containers?: ContainerRecord[]; storage?: string }) {
  const calls: unknown[][] = [];
  const containers = o.containers ?? [];
  const engine = {
    deps: {
      paths: { storage: o.storage ?? '/nonexistent' },
      images: {
        list: async () => o.images,
        remove: async (ref: string, opts: unknown) => {
          calls.push(['store.remove', ref, opts]);
          return { untagged: [ref], deleted: [`sha256:${hex('a')}`], removedBlobs: [] };
        },
        prune: async (opts: unknown) => {
          calls.push(['store.prune', opts]);
          return { untagged: [], deleted: [], removedBlobs: [], freedBytes: 0, removedTemp: ['t1'] };
        },
      },
    },
    containers: { list: async () => containers },
    usersOf: async (id: string) => containers.filter((c) => c.imageId === id),
    removeImageRootfs: async (id: string) => void calls.push(['removeImageRootfs', id]),
    removeStaleUnpacks: async (minAgeMs: number) => {
      calls.push(['removeStaleUnpacks', minAgeMs]);
      return ['/stale'];
    },
  } as unknown as ImageEngine;
  return { engine, calls };
}

describe('removeImage', () => {
  const a = image('a', ['docker.io/library/a:latest']);

  it('removes the record and its unpacked root when no container uses it', async () => {
    const { engine, calls } = fakeEngine({ images: [a] });
    await removeImage(engine, 'docker.io/library/a:latest', {});
    expect(calls).toEqual([
      ['store.remove', 'docker.io/library/a:latest', { force: undefined, retain: false }],
      ['removeImageRootfs', a.id],
    ]);
  });

  it('refuses, even forced, while a running container uses it', async () => {
    const { engine, calls } = fakeEngine({ images: [a], containers: [container('1', a.id, 'running')] });
    const err = (await removeImage(engine, a.id, { force: true }).catch((e: MoatError) => e)) as MoatError;
    expect(err.code).toBe('IMAGE_IN_USE');
    expect(calls).toEqual([]);
  });

  it('needs force when a stopped container uses it, and then keeps the blobs and the root', async () => {
    const { engine, calls } = fakeEngine({ images: [a], containers: [container('1', a.id, 'exited')] });
    const err = (await removeImage(engine, a.id, {}).catch((e: MoatError) => e)) as MoatError;
    expect(err.code).toBe('IMAGE_IN_USE');
    expect(calls).toEqual([]);
    await removeImage(engine, a.id, { force: true });
    expect(calls).toEqual([['store.remove', a.id, { force: true, retain: true }]]);
  });

  it('untags one of several names whatever uses the image', async () => {
    const two = image('a', ['docker.io/library/a:latest', 'docker.io/library/a:2']);
    const { engine, calls } = fakeEngine({ images: [two], containers: [container('1', two.id, 'running')] });
    await removeImage(engine, 'docker.io/library/a:2', {});
    expect(calls[0]).toEqual(['store.remove', 'docker.io/library/a:2', { force: undefined, retain: false }]);
  });
});

describe('pruneImages', () => {
  let storage: string;
  beforeEach(() => {
    storage = mkdtempSync(path.join(tmpdir(), 'moat-images-'));
    mkdirSync(path.join(storage, 'rootfs'));
  });
  afterEach(() => rmSync(storage, { recursive: true, force: true }));

  /** An unpacked root with its commit marker, `ageMs` old. */
  const root = (c: string, ageMs: number) => {
    const dir = path.join(storage, 'rootfs', hex(c));
    mkdirSync(dir);
    writeFileSync(`${dir}.json`, '{}');
    const t = (Date.now() - ageMs) / 1000;
    utimesSync(`${dir}.json`, t, t);
  };

  it('removes old roots of images that are gone and unused, and merges the stale unpacks', async () => {
    const hour = 3_600_000;
    root('a', hour); // its image is stored: kept
    root('b', hour); // gone, unused, old: removed
    root('c', hour); // gone, but a container uses it: kept
    root('d', 1000); // gone, unused, but young: kept
    mkdirSync(path.join(storage, 'rootfs', '.tmp-x')); // not a root: ignored
    const { engine, calls } = fakeEngine({
      images: [image('a', [])],
      containers: [container('1', `sha256:${hex('c')}`, 'exited')],
      storage,
    });
    const res = await pruneImages(engine, { minAgeMs: 60_000, all: true });
    expect(res.removedRoots).toEqual([`sha256:${hex('b')}`]);
    expect(res.removedTemp).toEqual(['t1', '/stale']);
    expect(calls).toEqual([
      ['store.prune', { minAgeMs: 60_000, images: 'all', inUse: new Set([`sha256:${hex('c')}`]) }],
      ['removeImageRootfs', `sha256:${hex('b')}`],
      ['removeStaleUnpacks', 60_000],
    ]);
  });

  it('prunes only dangling images unless asked for all', async () => {
    const { engine, calls } = fakeEngine({ images: [], storage });
    await pruneImages(engine, { minAgeMs: 0, all: false });
    expect(calls[0]).toEqual(['store.prune', { minAgeMs: 0, images: 'dangling', inUse: new Set() }]);
  });
});
