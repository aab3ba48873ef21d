/** Container records on disk: unreadable ones become 'broken' stand-ins instead of vanishing. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunOptions, MIN_MEMORY } from '../../../src/runtime/options.js';
import { ContainerStore } from '../../../src/runtime/state.js';
import type { MoatPaths } from '../../../src/util/paths.js';
import type { MoatError } from '../../../src/errors.js';

function store(): { s: ContainerStore; dir: string } {
  const base = mkdtempSync(path.join(tmpdir(), 'moat-state-'));
  const paths = {
    data: base,
    runtime: path.join(base, 'run'),
    storage: path.join(base, 'storage'),
    containers: path.join(base, 'containers'),
    runcRoot: path.join(base, 'run', 'runc'),
    locks: path.join(base, 'run', 'locks'),
  } satisfies MoatPaths;
  mkdirSync(paths.containers, { recursive: true });
  return { s: new ContainerStore(paths), dir: paths.containers };
}

const id = (c: string) => c.repeat(64);
const record = (i: string, name: string) => ({
  id: i,
  name,
  image: 'moat/busybox',
  imageId: `sha256:${'f'.repeat(64)}`,
  created: '2026-01-01T00:00:00.000Z',
  status: 'exited',
  command: ['true'],
  options: {},
  limits: {},
  cgroups: {},
  idmapMode: 'subordinate',
  warnings: [],
  lowerdir: '/x',
});

function put(dir: string, i: string, text?: string): void {
  mkdirSync(path.join(dir, i));
  if (text !== undefined) writeFileSync(path.join(dir, i, 'container.json'), text);
}

describe('ContainerStore.list', () => {
  it('lists a truncated record as broken, with the name and image it still shows', async () => {
    const { s, dir } = store();
    put(dir, id('a'), JSON.stringify(record(id('a'), 'good'), null, 2));
    const text = JSON.stringify(record(id('b'), 'web'), null, 2);
    put(dir, id('b'), text.slice(0, text.indexOf('"status"')));
    const all = await s.list();
    expect(all.map((r) => [r.id, r.status])).toEqual(
      expect.arrayContaining([
        [id('a'), 'exited'],
        [id('b'), 'broken'],
      ]),
    );
    const broken = all.find((r) => r.id === id('b'))!;
    expect(broken).toMatchObject({ name: 'web', image: 'moat/busybox', imageId: `sha256:${'f'.repeat(64)}` });
    expect(broken.error).toMatch(/not valid JSON/);
    // resolve finds it by name, so rm -f NAME reaches it
    expect((await s.resolve('web')).id).toBe(id('b'));
  });

  it('a directory without a record, an empty one, one naming another container: broken', async () => {
    const { s, dir } = store();
    put(dir, id('c'));
    put(dir, id('d'), '');
    put(dir, id('e'), JSON.stringify(record(id('a'), 'impostor')));
    const all = await s.list();
    expect(all.map((r) => r.status)).toEqual(['broken', 'broken', 'broken']);
    const why = Object.fromEntries(all.map((r) => [r.id, r.error]));
    expect(why[id('c')]).toMatch(/missing/);
    expect(why[id('d')]).toMatch(/not valid JSON/);
    expect(why[id('e')]).toMatch(/another container/);
    // an empty record has nothing to salvage
    expect(all.find((r) => r.id === id('d'))!.name).toBe('');
  });

  it('load still refuses a broken record (RUNTIME_CORRUPT_STATE)', async () => {
    const { s, dir } = store();
    put(dir, id('f'), '{"id": "');
    await expect(s.load(id('f'))).rejects.toMatchObject({ code: 'RUNTIME_CORRUPT_STATE' });
  });
});

describe('checkRunOptions', () => {
  it('refuses a memory limit below 6 MiB, with a hint; accepts 6 MiB', () => {
    for (const m of [1, 2 * 1024 * 1024, MIN_MEMORY - 1]) {
      let err: MoatError | undefined;
      try {
        checkRunOptions({ memory: m });
      } catch (e) {
        err = e as MoatError;
      }
      expect(err?.code).toBe('RUNTIME_INVALID_OPTION');
      expect(err?.message).toMatch(/minimum of 6 MiB/);
      expect(err?.hint).toMatch(/--memory 6m/);
    }
    expect(() => checkRunOptions({ memory: MIN_MEMORY })).not.toThrow();
    expect(() => checkRunOptions({})).not.toThrow();
  });
});
