/**
 * `moat ps --filter` and `moat images --filter` read docker's `KEY=VALUE` flags into the same
 * Filters as the Docker API's `filters` parameter, and choose with the same functions
 * (api/docker/list.ts): the flags and the API parameter give the same containers.
 */
import { describe, expect, it } from 'vitest';
import { parseFilterFlags, parseFilters } from '../../../src/api/docker/filters.js';
import { checkContainerFilters, selectContainers } from '../../../src/api/docker/list.js';
import { MoatError } from '../../../src/errors.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';

function refused(f: () => unknown): MoatError {
  try {
    f();
  } catch (e) {
    if (e instanceof MoatError) return e;
    throw e;
  }
  throw new Error('not refused');
}

let n = 0;
function ctr(
  name: string,
  status: ContainerRecord['status'],
  more: Partial<ContainerRecord> = {},
): ContainerRecord {
  n++;
  return {
    id: `${String(n).padStart(2, '0')}`.padEnd(64, String(n % 10)),
    name,
    image: 'moat/busybox',
    imageId: 'sha256:aaa',
    created: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    status,
    command: ['sh'],
    options: defaultRunOptions('moat/busybox'),
    limits: {},
    cgroups: {},
    idmapMode: 'subordinate',
    warnings: [],
    lowerdir: '/x',
    ...more,
  };
}

const web = ctr('web', 'running', { options: { ...defaultRunOptions('x'), labels: { app: 'web' } } });
const job = ctr('job', 'exited', {
  exitCode: 3,
  options: {
    ...defaultRunOptions('x'),
    volumes: [
      { host: '/v/data/_data', container: '/data', readonly: false, volume: 'data' },
      { host: '/srv', container: '/srv/', readonly: true },
    ],
  },
});
const ok = ctr('ok', 'exited', { exitCode: 0 });
const fresh = ctr('fresh', 'created');
const all = [web, job, ok, fresh];

const choose = (flags: string[], opts: { all?: boolean; limit?: number } = {}) => {
  const filters = parseFilterFlags(flags);
  checkContainerFilters(filters);
  return selectContainers(all, { all: Boolean(opts.all), limit: opts.limit ?? 0, filters }).map(
    (c) => c.name,
  );
};

describe('parseFilterFlags', () => {
  it('reads KEY=VALUE as docker does: key trimmed and lower-cased, value trimmed, values gathered', () => {
    expect([
      ...parseFilterFlags(['status=exited', ' Label = app=web ', 'status=created', 'status=exited']),
    ]).toEqual([
      ['status', ['exited', 'created']],
      ['label', ['app=web']],
    ]);
    expect(parseFilterFlags([]).size).toBe(0);
    expect(parseFilterFlags(['']).size).toBe(0);
    expect([...parseFilterFlags(['name='])]).toEqual([['name', ['']]]);
  });

  it('gives the same Filters as the API parameter', () => {
    expect(parseFilterFlags(['label=a=b', 'label=c', 'name=web'])).toEqual(
      parseFilters('{"label":["a=b","c"],"name":["web"]}'),
    );
  });

  it('refuses a flag without =, and too many values', () => {
    const e = refused(() => parseFilterFlags(['status']));
    expect(e.code).toBe('API_INVALID_REQUEST');
    expect(e.message).toBe("bad format of filter 'status' (expected name=value)");
    expect(refused(() => parseFilterFlags(Array.from({ length: 101 }, (_, i) => `id=${i}`))).code).toBe(
      'API_INVALID_REQUEST',
    );
  });
});

describe('choosing containers with flags', () => {
  it('status, exited, name, label, id', () => {
    expect(choose(['status=exited'])).toEqual(['ok', 'job']);
    expect(choose(['status=running', 'status=created'])).toEqual(['fresh', 'web']);
    expect(choose(['exited=3'])).toEqual([]); // without -a: running ones only, as docker
    expect(choose(['exited=3'], { all: true })).toEqual(['job']);
    expect(choose(['name=^/jo'], { all: true })).toEqual(['job']);
    expect(choose(['name=o'], { all: true })).toEqual(['ok', 'job']);
    expect(choose(['label=app'])).toEqual(['web']);
    expect(choose(['label=app=db'])).toEqual([]);
    expect(choose([`id=${job.id.slice(0, 6)}`], { all: true })).toEqual(['job']);
  });

  it('before, since, and a limit (-n, -l)', () => {
    expect(choose(['before=ok'])).toEqual(['job', 'web']);
    expect(choose(['since=job'])).toEqual(['fresh', 'ok']);
    expect(choose([], { limit: 1 })).toEqual(['fresh']);
    expect(choose(['status=exited'], { limit: 1 })).toEqual(['ok']);
  });

  it('refuses keys, statuses and exit codes docker would not take', () => {
    for (const bad of [['health=sick'], ['publish=80'], ['status=stopped'], ['exited=x'], ['before=nope']])
      expect(refused(() => choose(bad)).code, bad[0]).toBe('API_INVALID_REQUEST');
    expect(refused(() => choose(['publish=80'])).message).toBe("invalid filter 'publish'");
  });

  it('volume=NAME or a mount point, as docker', () => {
    expect(choose(['volume=data'], { all: true })).toEqual(['job']);
    expect(choose(['volume=/srv'], { all: true })).toEqual(['job']);
    expect(choose(['volume=/data'], { all: true })).toEqual(['job']);
    expect(choose(['volume=other'], { all: true })).toEqual([]);
  });
});
