/**
 * Docker's list filters through `moat system service` with the real docker CLI (issue 9, item
 * 13): `docker ps` by label, name, status, id, ancestor, `-n`/`-l`; `docker images` by
 * reference (`docker images REPO[:TAG]`), dangling, label; a filter moat does not have is refused
 * with Docker's message, never ignored — so `docker rm -f $(docker ps -aq --filter …)` removes
 * what it names and nothing else.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { docker, dockerSh, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
/** This file's own label value: the store is shared with other test files. */
const run = uniq('filters');
const names = { web: `${run}-web`, idle: `${run}-idle`, db: `${run}-db`, other: `${run}-other` };
const ids: Record<string, string> = {};
const lines = (s: string) => s.split('\n').filter(Boolean);

beforeAll(async () => {
  w = mainWorld('api-filters');
  svc = await startService(w);
  const made = [
    ['run', '-d', '--label', `run=${run}`, '--label', 'app=web', '--name', names.web, IMAGE, 'sleep', '120'],
    ['create', '--label', `run=${run}`, '--label', 'app=web', '--name', names.idle, IMAGE, 'true'],
    ['run', '--label', `run=${run}`, '--label', 'app=db', '--name', names.db, IMAGE, 'sh', '-c', 'exit 3'],
    // A decoy: not this run's label.
    ['create', '--label', `run=${run}-decoy`, '--name', names.other, IMAGE, 'true'],
  ];
  for (const args of made) {
    const r = docker(svc, w, args);
    expect([0, 3], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
  }
  for (const [k, n] of Object.entries(names))
    ids[k] = docker(svc, w, ['inspect', n, '--format', '{{.Id}}']).stdout.trim();
});
afterAll(async () => {
  if (svc) {
    docker(svc, w, ['rm', '-f', ...Object.values(names)]);
    await stopService(svc);
  }
});

/** `docker ps --format {{.Names}}` with these flags, this run's containers only unless asked. */
const ps = (...args: string[]) => {
  const r = docker(svc, w, ['ps', '--format', '{{.Names}}', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return lines(r.stdout);
};
const mine = ['--filter', `label=run=${run}`];

describe('docker ps filters', () => {
  it('label=app=nothing lists nothing (it used to list every container)', () => {
    const r = docker(svc, w, ['ps', '-aq', '--filter', 'label=app=nothing']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('label, -a, -q: the running one by default, all three with -a, IDs with -q', () => {
    expect(ps(...mine)).toEqual([names.web]);
    expect(ps('-a', ...mine).sort()).toEqual([names.db, names.idle, names.web].sort());
    expect(ps('-a', ...mine, '--filter', 'label=app=web').sort()).toEqual([names.idle, names.web].sort());
    const q = docker(svc, w, ['ps', '-aq', ...mine]);
    expect(lines(q.stdout).sort()).toEqual([ids.web, ids.idle, ids.db].map((i) => i.slice(0, 12)).sort());
  });

  it('name, id, status, ancestor', () => {
    expect(ps('-a', '--filter', `name=${names.web}`)).toEqual([names.web]);
    expect(ps('-a', '--filter', `id=${ids.db.slice(0, 16)}`)).toEqual([names.db]);
    expect(ps(...mine, '--filter', 'status=exited')).toEqual([names.db]);
    expect(ps(...mine, '--filter', 'status=created')).toEqual([names.idle]);
    expect(ps(...mine, '--filter', 'exited=3')).toEqual([]); // exited= without -a: running ones only, as Docker
    expect(ps('-a', ...mine, '--filter', 'exited=3')).toEqual([names.db]);
    expect(ps('-a', ...mine, '--filter', `ancestor=${IMAGE}`)).toHaveLength(3);
    expect(ps('-a', ...mine, '--filter', 'ancestor=no/such-image')).toEqual([]);
  });

  it('-n and -l: the newest, stopped ones included', () => {
    expect(ps('-l', ...mine)).toEqual([names.db]);
    expect(ps('-n', '2', ...mine)).toEqual([names.db, names.idle]);
  });

  it('a filter moat does not have is refused with Docker’s message, and the CLI exits 1', () => {
    for (const f of ['health=sick', 'publish=80', 'bogus=1', 'status=sleeping']) {
      const r = docker(svc, w, ['ps', '-aq', '--filter', f]);
      expect(r.code, f).toBe(1);
      expect(r.stderr, f).toMatch(/Error response from daemon: invalid filter '/);
      expect(r.stdout, f).toBe('');
    }
  });

  it('docker rm -f $(docker ps -aq --filter …) removes what the filter names, nothing else', () => {
    const r = dockerSh(
      svc,
      w,
      `docker rm -f $(docker ps -aq --filter label=run=${run} --filter label=app=web)`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(ps('-a', '--filter', `name=${run}`).sort()).toEqual([names.db, names.other].sort());
  });
});

describe('docker images filters', () => {
  const images = (...args: string[]) => {
    const r = docker(svc, w, ['images', '--format', '{{.Repository}}:{{.Tag}}', ...args]);
    expect(r.code, r.stderr).toBe(0);
    return lines(r.stdout);
  };
  const repo = `localhost/${run}`;

  beforeAll(async () => {
    const tar = path.join(inject('moatEnv').base, 'rootfs.tar');
    // The same name twice: the first import is left dangling (<none>).
    for (const change of ['LABEL stage=old', `LABEL stage=new run=${run}`]) {
      const r = await w.moat(['import', tar, `${run}:1`, '--change', change]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await w.moat(['tag', `${run}:1`, `${run}:2`])).code).toBe(0);
  });
  afterAll(async () => {
    await w.moat(['rmi', '-f', `${run}:1`, `${run}:2`]);
  });

  it('docker images REPO and REPO:TAG', () => {
    expect(images(IMAGE)).toEqual([`localhost/${IMAGE}:latest`]);
    expect(images(run).sort()).toEqual([`${repo}:1`, `${repo}:2`]);
    expect(images(`${run}:2`)).toEqual([`${repo}:2`]);
    expect(images(`${repo}:1`)).toEqual([`${repo}:1`]);
    expect(images('no/such-image')).toEqual([]);
    expect(images('--filter', `reference=${run.slice(0, 8)}*`).sort()).toEqual([`${repo}:1`, `${repo}:2`]);
  });

  it('dangling=true shows only <none> images, dangling=false none of them', () => {
    const dangling = images('--filter', 'dangling=true');
    expect(dangling.length).toBeGreaterThan(0);
    expect(dangling.every((d) => d === '<none>:<none>')).toBe(true);
    const named = images('--filter', 'dangling=false');
    expect(named).toContain(`${repo}:1`);
    expect(named).not.toContain('<none>:<none>');
  });

  it('label= reads the image configs', () => {
    expect(images('--filter', `label=run=${run}`).sort()).toEqual([`${repo}:1`, `${repo}:2`]);
    expect(images('--filter', `label=run=${run}`, '--filter', 'label=stage=old')).toEqual([]);
  });

  it('an image filter moat does not have is refused', () => {
    const r = docker(svc, w, ['images', '--filter', 'bogus=1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid filter 'bogus'/);
  });
});
