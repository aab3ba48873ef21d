/** Volume names, options and planning (pure, with a store on a temporary directory). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRunOptions, parseVolume } from '../../../src/runtime/options.js';
import { planVolumes } from '../../../src/runtime/volumes/plan.js';
import {
  checkVolumeName,
  VolumeStore,
  volumeOwnerOption,
  volumeUsers,
} from '../../../src/runtime/volumes/store.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';
import type { MoatPaths } from '../../../src/util/paths.js';

const data = mkdtempSync(path.join(tmpdir(), 'moat-vol-'));
const store = new VolumeStore({ data } as MoatPaths);
const noContainer = async (): Promise<ContainerRecord> => {
  throw new Error('no container');
};

describe('volume names and options', () => {
  it("docker's names; never a path, a dot name or ..", () => {
    for (const ok of ['db', 'my_vol.1', 'A-b']) expect(() => checkVolumeName(ok)).not.toThrow();
    for (const bad of ['a', '.hidden', '..', '../x', 'a/b', '/etc', '-x', 'x'.repeat(256)])
      expect(() => checkVolumeName(bad), bad).toThrow(/invalid volume name/);
  });

  it('o=uid=N,gid=N and nocopy only', () => {
    expect(volumeOwnerOption({ o: 'uid=1000,gid=100,nocopy' })).toEqual({
      uid: 1000,
      gid: 100,
      nocopy: true,
    });
    expect(() => volumeOwnerOption({ type: 'nfs' })).toThrow(/volume option "type" is not supported/);
    expect(() => volumeOwnerOption({ o: 'addr=1.2.3.4' })).toThrow(/o=addr=1.2.3.4 is not supported/);
  });
});

describe('planning', () => {
  it("a volume's directory comes from its name: a host path sent with it is replaced", async () => {
    const o = {
      ...defaultRunOptions('img'),
      volumes: [{ host: '/etc', container: '/x', readonly: false, volume: 'db' }],
    };
    const [v] = await planVolumes(o, {}, store, noContainer);
    expect(v.host).toBe(path.join(data, 'volumes', 'db', '_data'));
  });

  it("anonymous volumes for -v /path and the image's VOLUMEs not covered by a mount; named 64 hex", async () => {
    const o = {
      ...defaultRunOptions('img'),
      volumes: [parseVolume('/scratch'), parseVolume('/srv:/data')],
      tmpfs: [{ path: '/cache', options: [] }],
    };
    const vols = await planVolumes(o, { '/data': {}, '/cache/': {}, '/logs': {} }, store, noContainer);
    expect(
      vols.map((v) => [v.container, v.volume === undefined ? 'bind' : v.anonymous ? 'anon' : 'named']),
    ).toEqual([
      ['/scratch', 'anon'],
      ['/data', 'bind'],
      ['/logs', 'anon'],
    ]);
    expect(vols[0].volume).toMatch(/^[0-9a-f]{64}$/);
    expect(vols[0].host).toBe(path.join(data, 'volumes', vols[0].volume!, '_data'));
  });

  it('--volumes-from shares, read-only when asked, and never takes ownership of anonymous ones', async () => {
    const from = {
      id: 'c1',
      name: 'src',
      options: {
        ...defaultRunOptions('img'),
        volumes: [
          { host: '/v/a/_data', container: '/a', readonly: false, volume: 'a'.repeat(64), anonymous: true },
        ],
      },
    } as unknown as ContainerRecord;
    const o = { ...defaultRunOptions('img'), volumesFrom: ['src:ro'] };
    const [v] = await planVolumes(o, {}, store, async () => from);
    expect(v).toMatchObject({ container: '/a', readonly: true, volume: 'a'.repeat(64) });
    expect(v.anonymous).toBeUndefined();
    expect(volumeUsers([from], 'a'.repeat(64))).toEqual([from]);
  });

  it('an image with more than 64 VOLUMEs is refused', async () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`/v${i}`, {}]));
    await expect(planVolumes(defaultRunOptions('img'), many, store, noContainer)).rejects.toThrow(
      /declares 65 volumes/,
    );
  });
});

describe('the store', () => {
  it('create is idempotent, lists, removes; no half-made volume is listed', async () => {
    const a = await store.create('db', { labels: { k: 'v' } });
    expect(a.created).toBe(true);
    expect((await store.create('db')).created).toBe(false);
    expect((await store.list()).map((v) => [v.name, v.labels])).toEqual([['db', { k: 'v' }]]);
    await store.remove('db', async (dir) => (await import('node:fs/promises')).rm(dir, { recursive: true }));
    expect(await store.list()).toEqual([]);
    await expect(store.get('db')).rejects.toMatchObject({ code: 'RUNTIME_VOLUME_NOT_FOUND' });
  });
});
