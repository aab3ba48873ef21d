/** Docker's list filters (v1.41 semantics), pure: parsing, refusing, choosing containers and images. */
import { describe, expect, it } from 'vitest';
import {
  checkKeys,
  matchField,
  matchLabels,
  parseFilters,
  parseTimestamp,
} from '../../../src/api/docker/filters.js';
import {
  containerQuery,
  imageQuery,
  nameForms,
  selectContainers,
  selectImages,
  type ImageRow,
} from '../../../src/api/docker/list.js';
import { MoatError } from '../../../src/errors.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';
import type { NetworkView } from '../../../src/api/network-routes.js';

const q = (params: Record<string, unknown>) =>
  new URLSearchParams(
    Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );

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
    id: `${String(n).padStart(2, '0')}${name.padEnd(62, 'f')}`.replace(/[^0-9a-f]/g, 'e').slice(0, 64),
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

// Created in this order: web-1 is the oldest, job the newest.
const web1 = ctr('web-1', 'running', {
  options: { ...defaultRunOptions('x'), labels: { app: 'web', tier: 'front' } },
});
const web2 = ctr('web-2', 'exited', {
  exitCode: 0,
  options: { ...defaultRunOptions('x'), labels: { app: 'web' } },
});
const db = ctr('db', 'running', {
  imageId: 'sha256:bbb',
  options: { ...defaultRunOptions('x'), labels: { app: 'db' } },
});
const job = ctr('job', 'exited', { exitCode: 3 });
const fresh = ctr('fresh', 'created');
const all = [web1, web2, db, job, fresh];
const names = (list: ContainerRecord[]) => list.map((c) => c.name);
const ps = (params: Record<string, unknown>, ancestors?: Set<string>) =>
  names(selectContainers(all, containerQuery(q(params)), ancestors));

describe('the filters parameter', () => {
  it('reads both of Docker’s forms; empty means none', () => {
    expect([...parseFilters('{"label":["a=b","c"]}')]).toEqual([['label', ['a=b', 'c']]]);
    expect([...parseFilters('{"label":{"a=b":true}}')]).toEqual([['label', ['a=b']]]);
    expect(parseFilters(null).size).toBe(0);
    expect(parseFilters('').size).toBe(0);
    expect(parseFilters('{"name":[]}').size).toBe(0);
  });

  it('refuses what is not a filter document', () => {
    for (const bad of [
      '{',
      '[]',
      '"x"',
      '{"label":"a"}',
      '{"label":[1]}',
      `{"name":["${'x'.repeat(70_000)}"]}`,
    ])
      expect(refused(() => parseFilters(bad)).code, bad.slice(0, 20)).toBe('API_INVALID_REQUEST');
  });

  it('refuses a key it does not know, as Docker words it', () => {
    const e = refused(() => checkKeys(parseFilters('{"health":["healthy"]}'), ['label']));
    expect(e.code).toBe('API_INVALID_REQUEST');
    expect(e.message).toBe("invalid filter 'health'");
    expect(e.hint).toMatch(/label/);
  });

  it('name and id are unanchored RE2 expressions; a bad one matches nothing; none stalls', () => {
    const f = parseFilters('{"name":["web"]}');
    expect(matchField(f, 'name', '/web-1')).toBe(true);
    expect(matchField(f, 'name', '/db')).toBe(false);
    expect(matchField(parseFilters('{"name":["^/web$"]}'), 'name', '/web-1')).toBe(false);
    expect(matchField(parseFilters('{"name":["(unclosed"]}'), 'name', '/(unclosed-x')).toBe(false);
    expect(matchField(parseFilters('{"name":["(unclosed"]}'), 'name', '(unclosed')).toBe(true); // equal
    expect(matchField(f, 'id', 'anything')).toBe(true); // no id filter
    const t0 = performance.now();
    expect(matchField(parseFilters('{"name":["^(a+)+$"]}'), 'name', 'a'.repeat(5000) + 'b')).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('labels: every value must hold, a key alone asks that the label is there', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(matchLabels(parseFilters('{"label":["app=web","tier"]}'), labels)).toBe(true);
    expect(matchLabels(parseFilters('{"label":["app=web","tier=back"]}'), labels)).toBe(false);
    expect(matchLabels(parseFilters('{"label":["app=nothing"]}'), labels)).toBe(false);
    expect(matchLabels(parseFilters('{"label":["toString"]}'), labels)).toBe(false);
  });

  it("Docker's timestamps: durations, Unix seconds, dates", () => {
    const now = Date.UTC(2026, 0, 2);
    expect(parseTimestamp('1h30m', now)).toBe(now - 5.4e6);
    expect(parseTimestamp('1700000000.5', now)).toBe(1700000000500);
    expect(parseTimestamp('2026-01-01T00:00:00Z', now)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestamp('yesterday', now)).toBeUndefined();
  });
});

describe('docker ps: which containers', () => {
  it('running only by default, every one with -a, newest first', () => {
    expect(ps({})).toEqual(['db', 'web-1']);
    expect(ps({ all: '1' })).toEqual(['fresh', 'job', 'db', 'web-2', 'web-1']);
  });

  it('label=app=nothing matches nothing (issue 9: it used to match everything)', () => {
    expect(ps({ all: '1', filters: { label: ['app=nothing'] } })).toEqual([]);
    expect(ps({ all: '1', filters: { label: ['app=web'] } })).toEqual(['web-2', 'web-1']);
    expect(ps({ all: '1', filters: { label: ['app=web', 'tier'] } })).toEqual(['web-1']);
    expect(ps({ all: '1', filters: { label: { 'app=db': true } } })).toEqual(['db']);
  });

  it('name, id, status (which implies -a), exited', () => {
    expect(ps({ filters: { name: ['web'] } })).toEqual(['web-1']);
    expect(ps({ all: '1', filters: { name: ['web', 'job'] } })).toEqual(['job', 'web-2', 'web-1']);
    expect(ps({ all: '1', filters: { id: [db.id.slice(0, 12)] } })).toEqual(['db']);
    expect(ps({ filters: { status: ['exited'] } })).toEqual(['job', 'web-2']);
    expect(ps({ filters: { status: ['created', 'running'] } })).toEqual(['fresh', 'db', 'web-1']);
    expect(ps({ all: '1', filters: { exited: ['3'] } })).toEqual(['job']);
    expect(ps({ all: '1', filters: { name: ['web'], status: ['running'] } })).toEqual(['web-1']);
  });

  it('-n N and -l: the newest, stopped ones included', () => {
    expect(ps({ limit: '2' })).toEqual(['fresh', 'job']);
    expect(ps({ limit: '1' })).toEqual(['fresh']);
    expect(ps({ limit: '-1' })).toEqual(['db', 'web-1']);
    expect(ps({ limit: '2', filters: { label: ['app'] } })).toEqual(['db', 'web-2']);
  });

  it('before and since name a container; ancestor the images an image name resolved to', () => {
    expect(ps({ filters: { before: ['db'] } })).toEqual(['web-2', 'web-1']);
    expect(ps({ filters: { since: ['db'] } })).toEqual(['fresh', 'job']);
    expect(ps({ all: '1' }, new Set(['sha256:bbb']))).toEqual(['db']);
    expect(ps({ all: '1' }, new Set())).toEqual([]);
    expect(refused(() => ps({ filters: { before: ['nosuch'] } })).code).toBe('API_INVALID_REQUEST');
  });

  it("health: a check's status (starting until its first result), or none", () => {
    const check = {
      cmd: ['true'],
      intervalMs: 1,
      timeoutMs: 1,
      retries: 1,
      startPeriodMs: 0,
      onFailure: 'none' as const,
    };
    const ok = ctr('ok', 'running', {
      healthcheck: check,
      health: { status: 'healthy', failingStreak: 0, log: [] },
    });
    const sick = ctr('sick', 'running', {
      healthcheck: check,
      health: { status: 'unhealthy', failingStreak: 3, log: [] },
    });
    const young = ctr('young', 'running', { healthcheck: check });
    const plain = ctr('plain', 'running');
    const pick = (h: string[]) =>
      names(selectContainers([ok, sick, young, plain], containerQuery(q({ filters: { health: h } }))));
    expect(pick(['healthy'])).toEqual(['ok']);
    expect(pick(['unhealthy', 'starting'])).toEqual(['young', 'sick']);
    expect(pick(['none'])).toEqual(['plain']);
  });

  it('network: a user-defined network it joined (name, ID, ID prefix), or the mode it was run with', () => {
    const on = (network: string) => ({ options: { ...defaultRunOptions('moat/busybox'), network } });
    const a = ctr('a', 'running', on('front'));
    const b = ctr('b', 'running', on('back'));
    const s = ctr('s', 'running', on('slirp4netns'));
    const plain = ctr('plain', 'running');
    const view = (Name: string, Id: string, ids: string[]) =>
      ({ Name, Id, Endpoints: ids.map((id) => ({ Id: id })) }) as unknown as NetworkView;
    // b joined front too (network connect); a is on front by its run.
    const nets = [view('front', 'f'.repeat(64), [a.id, b.id]), view('back', 'b'.repeat(64), [b.id])];
    const pick = (v: string[], list = nets) =>
      names(
        selectContainers([a, b, s, plain], containerQuery(q({ filters: { network: v } })), undefined, list),
      );
    expect(pick(['front'])).toEqual(['b', 'a']);
    expect(pick(['back'])).toEqual(['b']);
    expect(pick(['f'.repeat(64)])).toEqual(['b', 'a']);
    expect(pick(['fff'])).toEqual(['b', 'a']);
    expect(pick(['ff'])).toEqual([]); // a prefix of at least 3
    expect(pick(['slirp4netns'])).toEqual(['s']);
    expect(pick(['none'])).toEqual(['plain']);
    expect(pick(['back', 'slirp4netns'])).toEqual(['s', 'b']);
    // Without network.list's view (a policy that hides it): the mode each was run with.
    expect(pick(['front'], [])).toEqual(['a']);
  });

  it('refuses filters moat does not have, a bad status, a bad limit', () => {
    for (const [params, msg] of [
      [{ filters: { health: ['sick'] } }, "invalid filter 'health=sick'"],
      [{ filters: { publish: ['80'] } }, "invalid filter 'publish'"],
      [{ filters: { bogus: ['x'] } }, "invalid filter 'bogus'"],
      [{ filters: { status: ['sleeping'] } }, "invalid filter 'status=sleeping'"],
      [{ filters: { exited: ['x'] } }, "invalid filter 'exited=x'"],
      [{ limit: 'many' }, 'invalid limit "many"'],
    ] as const) {
      const e = refused(() => containerQuery(q(params)));
      expect(e.code).toBe('API_INVALID_REQUEST');
      expect(e.message).toBe(msg);
    }
  });
});

describe('docker images: which images', () => {
  const img = (id: string, names: string[], day: number): ImageRow => ({
    id,
    names,
    created: new Date(Date.UTC(2026, 0, day)).toISOString(),
    size: 1,
  });
  const images = [
    img('sha256:1', ['localhost/moat/busybox:latest', 'localhost/moat/busybox:1'], 1),
    img('sha256:2', ['docker.io/library/alpine:3'], 2),
    img('sha256:3', [], 3),
    img('sha256:4', ['127.0.0.1:5000/team/app:1'], 4),
  ];
  const list = (params: Record<string, unknown>, labels?: Map<string, Record<string, string>>) =>
    selectImages(images, imageQuery(q(params)), { labels }).map((i) => `${i.id} ${i.names.join(',')}`);

  it('the forms a name is matched in: as stored, and as Docker shows it', () => {
    expect(nameForms('localhost/moat/busybox:1')).toEqual([
      'localhost/moat/busybox:1',
      'localhost/moat/busybox',
      'moat/busybox:1',
      'moat/busybox',
    ]);
    expect(nameForms('127.0.0.1:5000/app')).toEqual(['127.0.0.1:5000/app']);
  });

  it('dangling=true only <none>, false only named; anything else refused', () => {
    expect(list({ filters: { dangling: ['true'] } })).toEqual(['sha256:3 ']);
    expect(list({ filters: { dangling: ['false'] } })).toHaveLength(3);
    expect(refused(() => list({ filters: { dangling: ['maybe'] } })).message).toBe(
      "invalid filter 'dangling=maybe'",
    );
  });

  it('reference (docker images REPO[:TAG]): globs on the familiar name; only matching tags shown', () => {
    expect(list({ filters: { reference: ['moat/busybox'] } })).toEqual([
      'sha256:1 localhost/moat/busybox:latest,localhost/moat/busybox:1',
    ]);
    expect(list({ filters: { reference: ['moat/busybox:1'] } })).toEqual([
      'sha256:1 localhost/moat/busybox:1',
    ]);
    expect(list({ filters: { reference: ['alpine'] } })).toEqual(['sha256:2 docker.io/library/alpine:3']);
    expect(list({ filters: { reference: ['*/app:*'] } })).toEqual([]);
    expect(list({ filters: { reference: ['127.0.0.1:5000/*/app'] } })).toEqual([
      'sha256:4 127.0.0.1:5000/team/app:1',
    ]);
    expect(list({ filters: { reference: ['busybox'] } })).toEqual([]);
    expect(refused(() => list({ filters: { reference: ['[bad'] } })).message).toBe(
      "invalid filter 'reference=[bad'",
    );
  });

  it('label (from the image configs), until', () => {
    const labels = new Map([['sha256:2', { 'org.opencontainers.image.vendor': 'x' }]]);
    expect(list({ filters: { label: ['org.opencontainers.image.vendor=x'] } }, labels)).toEqual([
      'sha256:2 docker.io/library/alpine:3',
    ]);
    expect(list({ filters: { until: ['2026-01-02T12:00:00Z'] } })).toHaveLength(2);
    expect(refused(() => list({ filters: { until: ['soon'] } })).code).toBe('API_INVALID_REQUEST');
    expect(refused(() => list({ filters: { 'is-task': ['true'] } })).message).toBe(
      "invalid filter 'is-task'",
    );
  });
});
