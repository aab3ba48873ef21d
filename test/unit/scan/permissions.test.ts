import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import { scanImage } from '../../../src/scan/index.js';
import { accountIds } from '../../../src/scan/rules/permissions.js';
import { brief, CLEAN_BASE, storeImage, tempStore, type TarFile } from './helpers.js';

let store: ImageStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(() => cleanup());

async function permissions(layers: TarFile[][]) {
  const img = await storeImage(store, layers);
  const r = await scanImage(store, img.record, { cache: false });
  return { ...img, found: r.findings.filter((f) => f.kind === 'permission') };
}

describe('permissions of the merged filesystem', () => {
  it('setuid and setgid executables (not a setuid bit on a non-executable file)', async () => {
    const { found, layerDigests } = await permissions([
      [
        ...CLEAN_BASE,
        { name: 'usr/bin/su', content: 'x', mode: 0o4755 },
        { name: 'usr/bin/wall', content: 'x', mode: 0o2755, gid: 5 },
        { name: 'usr/bin/both', content: 'x', mode: 0o6711 },
        { name: 'usr/bin/inert', content: 'x', mode: 0o4644 },
      ],
    ]);
    expect(found.map(brief)).toEqual([
      { rule: 'permission.setuid', path: 'usr/bin/su', detail: '4755' },
      { rule: 'permission.setgid', path: 'usr/bin/wall', detail: '2755' },
      { rule: 'permission.setuid', path: 'usr/bin/both', detail: '6711' },
      { rule: 'permission.setgid', path: 'usr/bin/both', detail: '6711' },
      { rule: 'permission.unknown-gid', path: 'usr/bin/wall', detail: 'gid 5: 1 entries' },
    ]);
    expect(found[0]).toMatchObject({ severity: 'medium', layer: layerDigests[0] });
  });

  it('world-writable files, and directories without the sticky bit (symlinks are 0777 and fine)', async () => {
    const { found } = await permissions([
      [
        ...CLEAN_BASE,
        { name: 'srv/', type: 'directory', mode: 0o777 },
        { name: 'srv/shared/', type: 'directory', mode: 0o1777 },
        { name: 'srv/log', content: 'x', mode: 0o666 },
        { name: 'srv/link', type: 'symlink', linkname: 'log', mode: 0o777 },
      ],
    ]);
    expect(found.map(brief)).toEqual([
      { rule: 'permission.world-writable-dir', path: 'srv', detail: '0777' },
      { rule: 'permission.world-writable-file', path: 'srv/log', detail: '0666' },
    ]);
  });

  it('owners /etc/passwd and /etc/group do not name: one finding per ID, first path in order', async () => {
    const { found } = await permissions([
      [
        ...CLEAN_BASE,
        { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
        { name: 'srv/', type: 'directory' },
        { name: 'srv/z', content: 'x', uid: 4242, gid: 4242 },
        { name: 'srv/a', content: 'x', uid: 4242, gid: 1000 },
      ],
    ]);
    expect(found.map(brief)).toEqual([
      { rule: 'permission.unknown-uid', path: 'srv/a', detail: 'uid 4242: 2 entries' },
      { rule: 'permission.unknown-gid', path: 'srv/z', detail: 'gid 4242: 1 entries' },
    ]);
  });

  it('the merged view decides: a later layer fixing or deleting a file, or adding the user', async () => {
    const { found } = await permissions([
      [
        ...CLEAN_BASE,
        { name: 'usr/bin/su', content: 'x', mode: 0o4755 },
        { name: 'srv/f', content: 'x', uid: 7 },
      ],
      [
        { name: 'usr/bin/su', content: 'x', mode: 0o755 },
        { name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\nsvc:x:7:7::/:/bin/false\n' },
        { name: 'srv/.wh.gone', content: '' },
        { name: 'srv/gone', content: 'x', mode: 0o666 },
      ],
    ]);
    // srv/gone is added by the same layer that whites it out: whiteouts only act on lower layers.
    expect(found.map(brief)).toEqual([
      { rule: 'permission.world-writable-file', path: 'srv/gone', detail: '0666' },
    ]);
  });

  it('passwd parsing: IDs of well-formed lines, 0 always known', () => {
    expect([...accountIds(Buffer.from('# c\nroot:x:0:0\nbad\nu:x:12:\nv:x:-1:\n'))].sort()).toEqual([0, 12]);
    expect([...accountIds(undefined)]).toEqual([0]);
  });
});
