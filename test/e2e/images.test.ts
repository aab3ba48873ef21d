/** Local images end to end: load (OCI layout, docker save), import, run, whiteouts, rmi, hostile layers. */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import {
  buildDockerSaveTar,
  buildOciLayoutTar,
  layerTar,
  packTar,
  type LayerEntry,
} from '../unit/image/helpers.js';
import { moat, uniq } from './moat.js';

let dir = '';
const busybox = readFileSync('/bin/busybox');
const base: LayerEntry[] = [
  { path: 'bin/', type: 'directory' },
  { path: 'bin/busybox', content: busybox, mode: 0o755 },
  ...['sh', 'ls', 'cat', 'stat', 'id', 'true'].map((a) => ({
    path: `bin/${a}`,
    type: 'symlink' as const,
    linkname: 'busybox',
  })),
  { path: 'etc/', type: 'directory' },
  { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
  { path: 'data/', type: 'directory' },
  { path: 'data/a', content: 'a\n' },
  { path: 'data/b', content: 'b\n' },
  { path: 'data/dir/', type: 'directory' },
  { path: 'data/dir/x', content: 'x\n' },
];
const layer2: LayerEntry[] = [
  { path: 'data/.wh.a', content: '' },
  { path: 'data/dir/.wh..wh..opq', content: '' },
  { path: 'data/dir/y', content: 'y\n' },
  { path: 'data/owned', content: 'o\n', uid: 1234, gid: 4321 },
  { path: 'data/link', type: 'link', linkname: 'data/b' },
];

beforeAll(() => {
  dir = path.join(inject('moatEnv').base, uniq('images'));
  mkdirSync(dir, { recursive: true });
});

describe('images', () => {
  it('loads an OCI layout tar named by a full reference and runs it with whiteouts applied', async () => {
    const ref = `example.com/team/${uniq('app')}:1.0`;
    const { tar, image } = await buildOciLayoutTar({
      layers: [base, layer2],
      refName: ref,
      runtime: { Cmd: ['/bin/ls', '/data'] },
    });
    const f = path.join(dir, 'oci.tar');
    writeFileSync(f, tar);
    const load = await moat(['load', '-i', f]);
    expect(load.code, load.stderr).toBe(0);
    expect(load.stdout).toContain(`Loaded image: ${ref}`);
    const r = await moat(['run', '--rm', ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['b', 'dir', 'link', 'owned']);
    const r2 = await moat([
      'run',
      '--rm',
      ref,
      'sh',
      '-c',
      'ls /data/dir; stat -c %u:%g /data/owned; cat /data/link',
    ]);
    expect(r2.stdout.trim().split('\n')).toEqual(['y', '1234:4321', 'b']);
    const insp = JSON.parse((await moat(['image', 'inspect', ref])).stdout) as {
      id: string;
      manifestDigest: string;
      layers: unknown[];
    }[];
    expect(insp[0].id).toBe(image.configDigest);
    expect(insp[0].manifestDigest).toBe(image.manifestDigest);
    expect(insp[0].layers).toHaveLength(2);
  });

  it('names a bare-tag OCI layout after the archive, and a docker-save tar by its RepoTags', async () => {
    const stem = uniq('bare');
    const { tar } = await buildOciLayoutTar({ layers: [base], refName: 'v2' });
    writeFileSync(path.join(dir, `${stem}.tar`), tar);
    expect((await moat(['load', '-i', path.join(dir, `${stem}.tar`)])).stdout).toContain(
      `localhost/${stem}:v2`,
    );
    expect((await moat(['run', '--rm', `${stem}:v2`, 'cat', '/data/a'])).stdout).toBe('a\n');

    const name = uniq('saved');
    const ds = await buildDockerSaveTar({ layers: [base, layer2], repoTags: [`${name}:latest`] });
    writeFileSync(path.join(dir, 'docker.tar'), ds.tar);
    const load = await moat(['load', '-i', path.join(dir, 'docker.tar')]);
    expect(load.stdout).toContain(`docker.io/library/${name}:latest`);
    const r = await moat(['run', '--rm', name, 'ls', '/data']);
    expect(r.stdout.trim().split('\n')).toEqual(['b', 'dir', 'link', 'owned']);
    const list = JSON.parse((await moat(['images', '--format', 'json'])).stdout) as { RepoTags: string[] }[];
    expect(list.some((i) => i.RepoTags.includes(`docker.io/library/${name}:latest`))).toBe(true);
  });

  it('imports a rootfs tar with --change, tags it, and rmi refuses while a container uses it', async () => {
    const name = uniq('imp');
    const rootfs = await layerTar(base);
    writeFileSync(path.join(dir, 'rootfs.tar'), rootfs);
    const imp = await moat([
      'import',
      '--change',
      'CMD ["cat", "/data/b"]',
      '--change',
      'ENV X=1',
      path.join(dir, 'rootfs.tar'),
      name,
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await moat(['run', '--rm', name])).stdout).toBe('b\n');
    expect((await moat(['tag', name, `${name}-copy:2`])).code).toBe(0);
    const c = uniq('user');
    await moat(['create', '--name', c, name]);
    const refused = await moat(['rmi', `${name}-copy:2`]);
    expect(refused.code, refused.stderr).toBe(0); // another name is left: only an untag
    const busy = await moat(['rmi', name]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/\[IMAGE_IN_USE\]/);
    expect(busy.stderr).toMatch(/used by stopped container/);
    await moat(['rm', c]);
    const rm = await moat(['rmi', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toMatch(/Untagged: localhost\//);
    const gone = await moat(['run', '--rm', name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/IMAGE_NOT_FOUND/);
  });

  it('refuses a hostile layer at run time and writes nothing outside the root', async () => {
    const ref = `localhost/${uniq('evil')}:1`;
    const { tar } = await buildOciLayoutTar({
      layers: [[...base, { path: '../../../../escape-moat', content: 'x' }]],
      refName: ref,
    });
    writeFileSync(path.join(dir, 'evil.tar'), tar);
    expect((await moat(['load', '-i', path.join(dir, 'evil.tar')])).code).toBe(0);
    const r = await moat(['run', '--rm', ref, 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/IMAGE_UNSAFE_PATH/);
    const e = inject('moatEnv');
    for (const d of [
      e.base,
      path.join(e.XDG_DATA_HOME, 'moat'),
      path.join(e.XDG_DATA_HOME, 'moat', 'storage'),
    ]) {
      expect(existsSync(path.join(d, 'escape-moat'))).toBe(false);
    }
    // the failed unpack left no half-made root behind
    const roots = readdirSync(path.join(e.XDG_DATA_HOME, 'moat', 'storage', 'rootfs'));
    expect(roots.filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('refuses corrupt archives with a stable code and keeps the store as it was', async () => {
    const before = (await moat(['images', '--format', 'json'])).stdout;
    writeFileSync(path.join(dir, 'junk.tar'), 'this is not a tar');
    const r = await moat(['load', '-i', path.join(dir, 'junk.tar')]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/\[IMAGE_/);
    const { files } = await buildOciLayoutTar({ layers: [base], refName: 'x:1' });
    const bad = files.map((f) =>
      f.name.startsWith('blobs/sha256/') && f.content && f.content.length > 1000
        ? { ...f, content: Buffer.concat([Buffer.from(f.content), Buffer.from('!')]) }
        : f,
    );
    writeFileSync(path.join(dir, 'bad.tar'), await packTar(bad));
    const r2 = await moat(['load', '-i', path.join(dir, 'bad.tar')]);
    expect(r2.code).toBe(125);
    expect(r2.stderr).toMatch(/IMAGE_DIGEST_MISMATCH|IMAGE_SIZE_MISMATCH/);
    expect((await moat(['images', '--format', 'json'])).stdout).toBe(before);
  });
});
