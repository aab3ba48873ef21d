/**
 * Issue 15: moat container prune, moat system df, moat system prune, and docker container prune
 * and docker system df against the service: stopped containers removed (asked first unless -f,
 * filters honoured, running ones kept), the space they held reported; disk usage as docker
 * shows it. Every container of this file carries a label, so that other files' are never pruned
 * (the e2e store is shared).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, world, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
const names: string[] = [];
const mine = uniq('prune-set');
const LABEL = `moat.test.prune=${mine}`;
const only = ['--filter', `label=${LABEL}`];
/** A container of this file: created, or run to its end (writing bytes into its root). */
async function container(kind: 'created' | 'exited' | 'running', extra: string[] = []): Promise<string> {
  const n = uniq(`prune-${kind}`);
  names.push(n);
  const args =
    kind === 'created'
      ? ['create', '--name', n, '-l', LABEL, ...extra, IMAGE, 'true']
      : kind === 'exited'
        ? [
            'run',
            '--name',
            n,
            '-l',
            LABEL,
            '--read-write',
            ...extra,
            IMAGE,
            'sh',
            '-c',
            'head -c 5000 /dev/zero > /five-k',
          ]
        : ['run', '-d', '--name', n, '-l', LABEL, ...extra, IMAGE, 'sleep', '300'];
  const r = await moat(args);
  expect(r.code, r.stderr).toBe(0);
  return n;
}
const exists = async (n: string) => (await moat(['inspect', n])).code === 0;

beforeAll(async () => {
  w = mainWorld('prune-df');
  svc = await startService(w);
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (svc) await stopService(svc);
});

describe('moat container prune', () => {
  it('asks first: no answer removes nothing', async () => {
    const a = await container('exited');
    const r = await moat(['container', 'prune', ...only], { input: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /WARNING! This will remove all stopped containers\.\nAre you sure you want to continue\? \[y\/N\] $/,
    );
    expect(r.stdout).toBe('');
    expect(await exists(a)).toBe(true);
  });

  it('y (or -f): exited and created containers go, running ones stay; the space they held', async () => {
    const [a, b, c] = [await container('exited'), await container('created'), await container('running')];
    const r = await moat(['container', 'prune', ...only], { input: 'y\n' });
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.match(/^[0-9a-f]{64}$/gm) ?? [];
    expect(r.stdout).toMatch(/^Deleted Containers:\n/);
    expect(r.stdout).toMatch(/\nTotal reclaimed space: [\d.]+kB\n$/); // the 5000 bytes written, the log, the bundle
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect([await exists(a), await exists(b), await exists(c)]).toEqual([false, false, true]);
  });

  it('filters: until and label! keep what they say', async () => {
    const old = await container('exited');
    await new Promise((r) => setTimeout(r, 2100));
    const fresh = await container('exited');
    const kept = await container('exited', ['-l', 'keep=1']);
    const r = await moat([
      'container',
      'prune',
      '-f',
      ...only,
      '--filter',
      'until=2s',
      '--filter',
      'label!=keep',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect([await exists(old), await exists(fresh), await exists(kept)]).toEqual([false, true, true]);
    const json = await moat(['container', 'prune', '-f', ...only, '--format', 'json']);
    expect(JSON.parse(json.stdout).deleted).toHaveLength(2);
    const bad = await moat(['container', 'prune', '-f', '--filter', 'status=exited']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid filter 'status' \[CLI_USAGE\]/);
  });
});

describe('moat system df', () => {
  it('docker’s summary: the image, the containers and their writable layers', async () => {
    const a = await container('exited');
    await container('running');
    const r = await moat(['system', 'df']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
    expect(rows.map((x) => x[0])).toEqual(['TYPE', 'Images', 'Containers', 'Local Volumes', 'Build Cache']);
    expect(Number(rows[1][1])).toBeGreaterThanOrEqual(1);
    expect(Number(rows[2][2])).toBeGreaterThanOrEqual(1); // the running one
    expect(rows[2][3]).toMatch(/^[\d.]+(B|kB|MB)$/);
    expect(rows.slice(3)).toEqual([
      ['Local Volumes', '0', '0', '0B', '0B'],
      ['Build Cache', '0', '0', '0B', '0B'],
    ]);
    const v = await moat(['system', 'df', '-v']);
    expect(v.stdout).toMatch(
      /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\n/,
    );
    expect(v.stdout).toMatch(
      new RegExp(
        `\\n[0-9a-f]{12}\\s+${IMAGE.replace('/', '\\/')}\\s+"sh -c head -c 5000 /"\\s+0\\s+5kB\\s+.*${a}\\n`,
      ),
    );
    const j = JSON.parse((await moat(['system', 'df', '--format', 'json'])).stdout) as {
      containers: { name: string; sizeRw: number }[];
    };
    expect(j.containers.find((c) => c.name === a)!.sizeRw).toBe(5000);
  });
});

describe('moat system prune', () => {
  // in a store of its own: it prunes every dangling image, which the shared store's other files may hold
  it('-f: stopped containers and dangling images go, running containers and used images stay', async () => {
    const own = world('system-prune');
    const tar = path.join(inject('moatEnv').base, 'rootfs.tar');
    for (const env of ['A=1', 'A=2'])
      expect((await own.moat(['import', tar, 'sp/img', '--change', `ENV ${env}`])).code).toBe(0);
    const dangling = (await own.moat(['images'])).stdout;
    expect(dangling).toContain('<none>');
    const [a, b] = ['sp-exited', 'sp-running'];
    expect((await own.moat(['run', '--name', a, 'sp/img', 'true'])).code).toBe(0);
    expect((await own.moat(['run', '-d', '--name', b, 'sp/img', 'sleep', '300'])).code).toBe(0);
    // A network no container is on goes too, as with docker system prune.
    expect((await own.moat(['network', 'create', 'sp-net'])).code).toBe(0);
    const asked = await own.moat(['system', 'prune', '-a'], { input: 'n\n' });
    expect(asked.stderr).toMatch(/all images without at least one container associated to them/);
    expect(asked.stderr).toMatch(/all networks not used by at least one container/);
    expect((await own.moat(['network', 'ls'])).stdout).toContain('sp-net');
    expect(asked.stdout).toBe('');
    const asked2 = await own.moat(['system', 'prune', '--volumes'], { input: '' });
    expect(asked2.stderr).toMatch(/all anonymous volumes not used by at least one container/);
    const r = await own.moat(['system', 'prune', '-f', '--volumes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Networks:\nsp-net\n\nDeleted Images:\ndeleted: sha256:[0-9a-f]{64}\n/,
    );
    expect(r.stdout).toMatch(/\nTotal reclaimed space: [\d.]+[kM]?B\n$/);
    expect((await own.moat(['network', 'ls'])).stdout).not.toContain('sp-net');
    expect((await own.moat(['inspect', a])).code).toBe(1);
    expect((await own.moat(['inspect', b])).code).toBe(0);
    expect((await own.moat(['images', '--format', '{{.Repository}}'])).stdout).toContain('sp/img');
    await own.moat(['rm', '-f', b]);
  });
});

describe('the docker CLI against the service', () => {
  it('docker container prune -f (with a label filter) and docker system df', async () => {
    const a = await container('exited');
    const r = docker(svc, w, ['container', 'prune', '-f', '--filter', `label=${LABEL}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n/);
    expect(r.stdout).toMatch(/Total reclaimed space: [\d.]+kB\n$/);
    expect(await exists(a)).toBe(false);
    await container('running');
    const df = docker(svc, w, ['system', 'df']);
    expect(df.code, df.stderr).toBe(0);
    expect(df.stdout).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\n/);
    expect(df.stdout).toMatch(/\nImages\s+\d+\s+\d+\s+[\d.]+[kM]?B\s+[\d.]+[kM]?B/);
    expect(df.stdout).toMatch(/\nContainers\s+\d+\s+[1-9]\d*\s+/);
    expect(df.stdout).toMatch(/\nLocal Volumes\s+0\s+0\s+0B\s+0B\n/);
  });

  // in a store of its own, as moat system prune above: it prunes every dangling image
  it('docker system prune -f and docker image prune: stopped containers and dangling images go', async () => {
    const own = world('docker-system-prune');
    const tar = path.join(inject('moatEnv').base, 'rootfs.tar');
    for (const env of ['A=1', 'A=2'])
      expect((await own.moat(['import', tar, 'dsp/img', '--change', `ENV ${env}`])).code).toBe(0);
    expect((await own.moat(['images'])).stdout).toContain('<none>');
    expect((await own.moat(['run', '--name', 'dsp-exited', 'dsp/img', 'true'])).code).toBe(0);
    expect((await own.moat(['run', '-d', '--name', 'dsp-running', 'dsp/img', 'sleep', '300'])).code).toBe(0);
    const s = await startService(own, {}, 'dsp.sock');
    try {
      const r = docker(s, own, ['system', 'prune', '-f']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Images:\ndeleted: sha256:[0-9a-f]{64}\n/,
      );
      expect(r.stdout).toMatch(/\nTotal reclaimed space: [\d.]+[kM]?B\n$/);
      expect((await own.moat(['inspect', 'dsp-exited'])).code).toBe(1);
      expect((await own.moat(['inspect', 'dsp-running'])).code).toBe(0);
      expect((await own.moat(['images', '--format', '{{.Repository}}'])).stdout).toBe('localhost/dsp/img\n');
      // -a: every image no container uses; the running container's image stays
      expect((await own.moat(['import', tar, 'dsp/unused'])).code).toBe(0);
      const a = docker(s, own, ['image', 'prune', '-a', '-f']);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/^Deleted Images:\nuntagged: (localhost\/)?dsp\/unused:latest\n/);
      expect((await own.moat(['images', '--format', '{{.Repository}}'])).stdout).toBe('localhost/dsp/img\n');
      // a filter moat cannot apply is refused, never ignored
      const bad = docker(s, own, ['image', 'prune', '-f', '--filter', 'until=1h']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/invalid filter 'until'/);
    } finally {
      await own.moat(['rm', '-f', 'dsp-running']);
      await stopService(s);
    }
  });

  it('container.prune is decided with the containers it would remove as facts', async () => {
    const a = await container('exited', ['-l', 'protected=yes']);
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains sprintf("%s is protected", [c.name]) if {
  input.action == "container.prune"
  some c in input.facts.containers
  c.options.labels.protected == "yes"
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'prune-policy.sock');
    try {
      const r = docker(s, w, ['container', 'prune', '-f', '--filter', `label=${LABEL}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`container.prune denied by .*${a} is protected`));
      expect(await exists(a)).toBe(true);
      expect(
        docker(s, w, [
          'container',
          'prune',
          '-f',
          '--filter',
          `label=${LABEL}`,
          '--filter',
          'label!=protected',
        ]).code,
      ).toBe(0);
      expect(await exists(a)).toBe(true);
    } finally {
      await stopService(s);
    }
  });
});
