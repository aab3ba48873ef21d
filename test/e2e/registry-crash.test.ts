/**
 * kill -9 a pull at random points, many times: the store never shows a partial blob
 * (`moat image fsck` stays clean after every kill) and a final pull completes, reusing what the
 * killed pulls stored; prune then removes the leftovers of interrupted writes. Also fsck --repair
 * on a corrupted blob, and a pull that restores it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { inject } from 'vitest';
import { layerTar } from '../unit/image/helpers.js';
import {
  needTools,
  skopeo,
  startRegistry,
  world,
  writeOciLayout,
  type Registry,
} from './registry-helpers.js';

needTools('docker-registry', 'skopeo');

describe('registry: interrupted pulls', () => {
  let reg: Registry;
  let ref: string;
  beforeAll(async () => {
    reg = await startRegistry();
    // Four incompressible layers of 6 MiB: a pull takes long enough to be killed mid-way.
    const layers = [];
    for (let i = 0; i < 4; i++)
      layers.push(await layerTar([{ path: `data/${i}`, content: randomBytes(6 * 1024 * 1024) }]));
    const dir = path.join(inject('moatEnv').base, 'crash-oci');
    await writeOciLayout(dir, layers, { Cmd: ['/bin/true'] }, 'v1');
    ref = `${reg.host}/crash/data:v1`;
    const c = skopeo(['copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${ref}`]);
    expect(c.code, c.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => reg?.stop());

  it('kill -9 at random points never leaves a visible partial blob; the next pull completes', async () => {
    const w = world('crash');
    const kills = 15;
    let interrupted = 0;
    for (let i = 0; i < kills; i++) {
      const child = w.spawn(['pull', '-q', ref]);
      const after = 20 + Math.floor(Math.random() * 500);
      await new Promise((r) => setTimeout(r, after));
      child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
      );
      const fsck = await w.moat(['image', 'fsck', '--format', 'json']);
      const rep = JSON.parse(fsck.stdout) as { clean: boolean; corrupt: unknown[]; missing: unknown[] };
      expect(rep, `after a kill at ${after} ms`).toMatchObject({ clean: true, corrupt: [], missing: [] });
      // A pull that finished before the kill is undone (its blobs go with it), so the next
      // one starts over and can be interrupted again.
      if ((await w.moat(['images', '-q'])).stdout.trim() === '') interrupted++;
      else expect((await w.moat(['rmi', ref])).code).toBe(0);
    }
    expect(interrupted).toBeGreaterThanOrEqual(5);
    const final = await w.moat(['pull', ref]);
    expect(final.code, final.stderr).toBe(0);
    const fsck = await w.moat(['image', 'fsck']);
    expect(fsck.code, fsck.stdout).toBe(0);
    const prune = await w.moat(['image', 'prune', '--min-age', '0', '--format', 'json']);
    expect(prune.code, prune.stderr).toBe(0);
    // Everything the image needs is referenced, so prune keeps it.
    expect((await w.moat(['image', 'fsck', '--format', 'json'])).stdout).toMatch(/"temp": \[\]/);
    expect((await w.moat(['pull', ref])).stderr).not.toMatch(/downloading/);
  }, 240_000);

  it('fsck finds a corrupt blob, --repair removes it, a pull restores it', async () => {
    const w = world('fsck');
    expect((await w.moat(['pull', '-q', ref])).code).toBe(0);
    const [rec] = JSON.parse((await w.moat(['image', 'inspect', ref])).stdout) as {
      layers: { digest: string }[];
    }[];
    const blob = path.join(
      w.env.XDG_DATA_HOME!,
      'moat',
      'storage',
      'blobs',
      'sha256',
      rec.layers[0].digest.slice(7),
    );
    await fsp.chmod(blob, 0o644);
    const fh = await fsp.open(blob, 'r+');
    await fh.write(Buffer.from('corrupt'), 0, 7, 1000);
    await fh.close();
    const found = await w.moat(['image', 'fsck']);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(`corrupt: ${rec.layers[0].digest}`);
    const repaired = await w.moat(['image', 'fsck', '--repair']);
    expect(repaired.code).toBe(0);
    const missing = await w.moat(['image', 'fsck']);
    expect(missing.stdout).toContain('missing');
    const again = await w.moat(['pull', ref]);
    expect(again.code, again.stderr).toBe(0);
    expect((await w.moat(['image', 'fsck'])).code).toBe(0);
    // Removing the image then pruning leaves no blob behind.
    expect((await w.moat(['rmi', ref])).code).toBe(0);
    const p = await w.moat(['image', 'prune', '--min-age', '0', '--format', 'json']);
    expect(p.code).toBe(0);
    const left = await fsp.readdir(path.join(w.env.XDG_DATA_HOME!, 'moat', 'storage', 'blobs', 'sha256'));
    expect(left).toEqual([]);
  }, 120_000);
});
