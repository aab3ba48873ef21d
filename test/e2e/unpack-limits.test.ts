/**
 * Unpacking has limits (issue 11): a small layer that unpacks to far more bytes, or to more
 * entries, than MOAT_UNPACK_MAX_BYTES / MOAT_UNPACK_MAX_ENTRIES allow fails with
 * IMAGE_UNPACK_LIMIT, names the setting, and leaves nothing in the store's rootfs directory.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { buildOciLayoutTar, type LayerEntry } from '../unit/image/helpers.js';
import { env, moat, uniq } from './moat.js';

const busybox = readFileSync('/bin/busybox');
const base: LayerEntry[] = [
  { path: 'bin/', type: 'directory' },
  { path: 'bin/busybox', content: busybox, mode: 0o755 },
  { path: 'bin/true', type: 'symlink', linkname: 'busybox' },
];
const MiB = 1 << 20;

let dir = '';
beforeAll(() => {
  dir = path.join(inject('moatEnv').base, uniq('unpack-limits'));
  mkdirSync(dir, { recursive: true });
});

const rootfsDir = () => path.join(inject('moatEnv').XDG_DATA_HOME, 'moat', 'storage', 'rootfs');

async function load(
  name: string,
  layers: LayerEntry[][],
): Promise<{ ref: string; id: string; blob: number }> {
  const ref = `localhost/${uniq(name)}:1`;
  const { tar, image } = await buildOciLayoutTar({ layers, refName: ref });
  const f = path.join(dir, `${name}.tar`);
  writeFileSync(f, tar);
  const r = await moat(['load', '-i', f]);
  expect(r.code, r.stderr).toBe(0);
  return { ref, id: image.configDigest.slice(7), blob: statSync(f).size };
}

/** Nothing of image `id` in the store's rootfs directory: no root, no marker, no temporary tree. */
function nothingLeft(id: string): void {
  const names = readdirSync(rootfsDir());
  expect(names.filter((n) => n.startsWith(id) || n.startsWith(`.tmp-${id.slice(0, 12)}`))).toEqual([]);
}

describe('unpack limits', () => {
  it('a layer of zeros over MOAT_UNPACK_MAX_BYTES: refused, nothing left; unpacked with the limit raised', async () => {
    const { ref, id, blob } = await load('zeros', [
      base,
      [
        { path: 'data/', type: 'directory' },
        { path: 'data/zeros', content: Buffer.alloc(96 * MiB) },
      ],
    ]);
    expect(blob).toBeLessThan(2 * MiB); // the archive is small; what it unpacks to is not
    const limited = { ...env(), MOAT_UNPACK_MAX_BYTES: String(32 * MiB) };
    const r = await moat(['run', '--rm', ref, 'true'], { env: limited });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/\[IMAGE_UNPACK_LIMIT\]/);
    expect(r.stderr).toMatch(/MOAT_UNPACK_MAX_BYTES/);
    nothingLeft(id);
    const ok = await moat(['run', '--rm', ref, 'true'], {
      env: { ...limited, MOAT_UNPACK_MAX_BYTES: String(128 * MiB) },
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await moat(['rmi', ref])).toMatchObject({ code: 0 });
  });

  it('more entries than MOAT_UNPACK_MAX_ENTRIES: refused, nothing left', async () => {
    const files = Array.from({ length: 200 }, (_, i) => ({ path: `many/f${i}`, content: '' }));
    const { ref, id } = await load('many', [base, [{ path: 'many/', type: 'directory' }, ...files]]);
    const r = await moat(['run', '--rm', ref, 'true'], {
      env: { ...env(), MOAT_UNPACK_MAX_ENTRIES: '100' },
    });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/\[IMAGE_UNPACK_LIMIT\]/);
    expect(r.stderr).toMatch(/MOAT_UNPACK_MAX_ENTRIES/);
    nothingLeft(id);
    expect(await moat(['rmi', ref])).toMatchObject({ code: 0 });
  });
});
