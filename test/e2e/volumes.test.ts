/**
 * Issue 16, volumes: named volumes that outlive containers, anonymous ones (-v /path, an image's
 * VOLUME) filled from the image with its owners and modes, --volumes-from, rm -v, volume
 * ls/inspect/rm/prune, what the policy sees, a hostile image's VOLUME that points out of its root,
 * and the same flows with the docker CLI against the service. As the non-root test user.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildOciLayoutTar, type LayerEntry } from '../unit/image/helpers.js';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let dir = '';
let w: World;
let svc: Service;
const containers: string[] = [];
const volumes: string[] = [];
let seeded = '';
const dataHome = () => inject('moatEnv').XDG_DATA_HOME;

const busybox = (await import('node:fs')).readFileSync('/bin/busybox');
const base: LayerEntry[] = [
  { path: 'bin/', type: 'directory' },
  { path: 'bin/busybox', content: busybox, mode: 0o755 },
  ...['sh', 'ls', 'cat', 'stat', 'touch', 'echo', 'true', 'id'].map((a) => ({
    path: `bin/${a}`,
    type: 'symlink' as const,
    linkname: 'busybox',
  })),
];

/** Load an image made of `entries` over a busybox base, with `Volumes`; its reference. */
async function image(name: string, entries: LayerEntry[], vols: string[]): Promise<string> {
  const ref = `localhost/${uniq(name)}:1`;
  const { tar } = await buildOciLayoutTar({
    layers: [[...base, ...entries]],
    refName: ref,
    runtime: { Volumes: Object.fromEntries(vols.map((v) => [v, {}])), Cmd: ['sh'] },
  });
  const f = path.join(dir, `${name}.tar`);
  writeFileSync(f, tar);
  const load = await moat(['load', '-i', f]);
  expect(load.code, load.stderr).toBe(0);
  return ref;
}

interface VolumeView {
  Name: string;
  Mountpoint: string;
  Labels: Record<string, string>;
  Anonymous: boolean;
  UsedBy: string[];
}
const inspect = async (name: string): Promise<VolumeView> => {
  const r = await moat(['volume', 'inspect', name]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as VolumeView[])[0];
};
const names = async (): Promise<string[]> =>
  (await moat(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
const named = (p: string) => {
  const n = uniq(p);
  volumes.push(n);
  return n;
};

beforeAll(async () => {
  dir = path.join(inject('moatEnv').base, uniq('volumes'));
  mkdirSync(dir, { recursive: true });
  seeded = await image(
    'seeded',
    [
      { path: 'data/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750 },
      { path: 'data/seed', content: 'from the image\n', uid: 1000, gid: 1000, mode: 0o640 },
      { path: 'data/sub/', type: 'directory', uid: 1000, gid: 1000, mode: 0o755 },
      { path: 'data/sub/deep', content: 'deep\n', uid: 1000, gid: 1000 },
    ],
    ['/data'],
  );
  w = mainWorld('volumes');
  svc = await startService(w);
});

afterAll(async () => {
  if (containers.length) await moat(['rm', '-f', '-v', ...containers]);
  if (svc) await stopService(svc);
  await moat(['volume', 'rm', '-f', ...volumes]);
});

describe('moat volumes', () => {
  it('a named volume written by one container is read by the next; it outlives both', async () => {
    const v = named('vol');
    const made = await moat(['volume', 'create', '--label', 'team=web', v]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout.trim()).toBe(v);
    const w1 = await moat(['run', '--rm', '-v', `${v}:/data`, IMAGE, 'sh', '-c', 'echo kept > /data/f']);
    expect(w1.code, w1.stderr).toBe(0);
    const r = await moat([
      'run',
      '--rm',
      '-v',
      `${v}:/data:ro`,
      IMAGE,
      'sh',
      '-c',
      'cat /data/f; touch /data/g',
    ]);
    expect(r.stdout).toBe('kept\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    const i = await inspect(v);
    expect(i.Labels).toEqual({ team: 'web' });
    expect(i.Anonymous).toBe(false);
    expect(i.Mountpoint).toBe(path.join(dataHome(), 'moat', 'volumes', v, '_data'));
    expect(await names()).toContain(v);
    // --mount type=volume reaches the same volume; one named in a run is made on first use.
    const m = await moat([
      'run',
      '--rm',
      '--mount',
      `type=volume,source=${v},target=/m`,
      IMAGE,
      'cat',
      '/m/f',
    ]);
    expect(m.stdout).toBe('kept\n');
    const fresh = named('fresh');
    expect((await moat(['run', '--rm', '-v', `${fresh}:/x`, IMAGE, 'true'])).code).toBe(0);
    expect(await names()).toContain(fresh);
  });

  it("an image's VOLUME becomes an anonymous volume filled from the image, owners and modes kept; --rm removes it", async () => {
    const before = await names();
    // As 1000 (container root has no capabilities, so cannot read a 0750 directory of 1000).
    const r = await moat([
      'run',
      '--rm',
      '-u',
      '1000',
      seeded,
      'sh',
      '-c',
      'stat -c "%u:%g %a" /data /data/seed /data/sub/deep; cat /data/seed',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('1000:1000 750\n1000:1000 640\n1000:1000 644\nfrom the image\n');
    expect(await names()).toEqual(before);
  });

  it('-v /path makes an anonymous volume; rm -v removes it, rm alone leaves it to volume prune; named ones stay', async () => {
    const keep = named('keep');
    expect((await moat(['volume', 'create', keep])).code).toBe(0);
    const c1 = uniq('anon');
    const c2 = uniq('anon');
    containers.push(c1, c2);
    for (const c of [c1, c2])
      expect(
        (await moat(['run', '--name', c, '-v', '/scratch', IMAGE, 'sh', '-c', 'echo x > /scratch/f'])).code,
      ).toBe(0);
    const mount = async (c: string) =>
      (
        JSON.parse((await moat(['inspect', c])).stdout)[0].options.volumes as {
          volume: string;
          anonymous: boolean;
        }[]
      )[0];
    const [a1, a2] = [await mount(c1), await mount(c2)];
    expect(a1.anonymous).toBe(true);
    expect(a1.volume).toMatch(/^[0-9a-f]{64}$/);
    expect((await inspect(a1.volume)).UsedBy).toEqual([c1]);
    const busy = await moat(['volume', 'rm', a1.volume]);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/RUNTIME_VOLUME_IN_USE/);
    expect((await moat(['rm', '-v', c1])).code).toBe(0);
    expect((await moat(['rm', c2])).code).toBe(0);
    const left = await names();
    expect(left).not.toContain(a1.volume);
    expect(left).toContain(a2.volume);
    const dangling = (await moat(['volume', 'ls', '-q', '--filter', 'dangling=true'])).stdout;
    expect(dangling).toContain(a2.volume);
    const pruned = await moat(['volume', 'prune', '-f']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(a2.volume);
    const after = await names();
    expect(after).not.toContain(a2.volume);
    expect(after).toContain(keep);
    expect((await moat(['volume', 'rm', '-f', uniq('never-made')])).code).toBe(0);
    expect((await moat(['volume', 'rm', uniq('never-made')])).stderr).toMatch(/RUNTIME_VOLUME_NOT_FOUND/);
  });

  it('--volumes-from mounts the same volumes, read-only when asked', async () => {
    const src = uniq('from');
    containers.push(src);
    expect(
      (await moat(['run', '--name', src, '-v', '/shared', IMAGE, 'sh', '-c', 'echo hi > /shared/f'])).code,
    ).toBe(0);
    const r = await moat([
      'run',
      '--rm',
      '--volumes-from',
      `${src}:ro`,
      IMAGE,
      'sh',
      '-c',
      'cat /shared/f; touch /shared/g',
    ]);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    // The sharing container's --rm leaves the source's anonymous volume alone.
    expect((await moat(['run', '--rm', '--volumes-from', src, IMAGE, 'cat', '/shared/f'])).stdout).toBe(
      'hi\n',
    );
  });

  it('o=uid=N,gid=N owns the root; nocopy leaves a new volume empty', async () => {
    const owned = named('owned');
    expect((await moat(['volume', 'create', '-o', 'o=uid=1000,gid=1000', owned])).code).toBe(0);
    expect(
      (await moat(['run', '--rm', '-v', `${owned}:/o`, IMAGE, 'stat', '-c', '%u:%g', '/o'])).stdout,
    ).toBe('1000:1000\n');
    const empty = named('nocopy');
    const r = await moat(['run', '--rm', '-v', `${empty}:/data:nocopy`, seeded, 'ls', '-A', '/data']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const bad = await moat(['volume', 'create', '-o', 'type=nfs', uniq('nfs')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/volume option "type" is not supported/);
  });

  it("a hostile image's VOLUME that is a symlink out of its root fills the volume from inside the root only", async () => {
    // A host directory with a secret, named by absolute path and by climbing.
    const secret = path.join(dir, 'host-secret');
    mkdirSync(secret, { recursive: true });
    writeFileSync(path.join(secret, 'secret'), 'HOST SECRET');
    const abs = await image('hostile', [{ path: 'data', type: 'symlink', linkname: secret }], ['/data']);
    const r = await moat([
      'run',
      '--rm',
      abs,
      'sh',
      '-c',
      `ls -A /data; cat ${secret}/secret /data/secret 2>&1; true`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('HOST SECRET');
    expect(r.stdout).not.toMatch(/^secret$/m);
    // A link that climbs out is refused when the image is unpacked, before any volume is made.
    const before = await names();
    const climb = await image(
      'climb',
      [{ path: 'data', type: 'symlink', linkname: `../../../../../../..${secret}` }],
      ['/data'],
    );
    const c = await moat(['run', '--rm', climb, 'sh', '-c', 'cat /data/secret 2>&1; true']);
    expect(c.stdout).not.toContain('HOST SECRET');
    expect(c.stderr).toMatch(/IMAGE_UNSAFE_LINK/);
    expect(await names()).toEqual(before);
  });

  it("the policy judges binds as host paths and lets volumes through: the volume's directory as a bind is refused", async () => {
    const v = named('pol');
    expect((await moat(['volume', 'create', v])).code).toBe(0);
    const mp = (await inspect(v)).Mountpoint;
    const r = await moat(['run', '--rm', '-v', `${mp}:/x`, IMAGE, 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/POLICY_DENIED/);
    expect(r.stderr).toMatch(/mounting host path .* is not allowed/);
    const facts = await moat(['run', '--rm', '-v', `${v}:/x`, IMAGE, 'true']);
    expect(facts.code, facts.stderr).toBe(0);
  });

  it('an image with more VOLUMEs than moat makes for one container is refused before anything is made', async () => {
    const many = Array.from({ length: 65 }, (_, i) => `/v${i}`);
    const ref = await image('many', [], many);
    const before = await names();
    const r = await moat(['run', '--rm', ref, 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/declares 65 volumes; moat makes at most 64/);
    expect(await names()).toEqual(before);
  });
});

describe('docker volume and docker run -v against the service', () => {
  it('create, ls, inspect, run with a named and an anonymous volume, rm, prune', async () => {
    const v = named('dk');
    const made = docker(svc, w, ['volume', 'create', '--label', 'k=v', v]);
    expect(made.code, made.stderr).toBe(0);
    expect(docker(svc, w, ['volume', 'ls', '--format', '{{.Name}} {{.Driver}}']).stdout).toContain(
      `${v} local`,
    );
    const i = JSON.parse(docker(svc, w, ['volume', 'inspect', v]).stdout) as {
      Name: string;
      Labels: object;
      Mountpoint: string;
    }[];
    expect(i[0]).toMatchObject({ Name: v, Labels: { k: 'v' } });
    expect(
      docker(svc, w, ['run', '--rm', '-v', `${v}:/data`, IMAGE, 'sh', '-c', 'echo dk > /data/f']).code,
    ).toBe(0);
    expect(
      docker(svc, w, ['run', '--rm', '--mount', `type=volume,src=${v},dst=/d`, IMAGE, 'cat', '/d/f']).stdout,
    ).toBe('dk\n');
    const c = uniq('dk-anon');
    containers.push(c);
    expect(docker(svc, w, ['run', '--name', c, '-v', '/anon', IMAGE, 'true']).code).toBe(0);
    const m = JSON.parse(docker(svc, w, ['inspect', c]).stdout)[0].Mounts as { Type: string; Name: string }[];
    expect(m[0].Type).toBe('volume');
    const anon = m[0].Name;
    expect(docker(svc, w, ['rm', '-v', c]).code).toBe(0);
    expect(docker(svc, w, ['volume', 'ls', '-q']).stdout).not.toContain(anon);
    const busy = uniq('dk-busy');
    containers.push(busy);
    expect(docker(svc, w, ['create', '--name', busy, '-v', `${v}:/data`, IMAGE, 'true']).code).toBe(0);
    const refused = docker(svc, w, ['volume', 'rm', v]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/in use/);
    expect(docker(svc, w, ['rm', busy]).code).toBe(0);
    expect(docker(svc, w, ['volume', 'rm', v]).code).toBe(0);
    const p = docker(svc, w, ['volume', 'prune', '-f']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Total reclaimed space/);
  });
});
