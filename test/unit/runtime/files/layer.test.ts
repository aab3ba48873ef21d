/**
 * A container's layer read as docker diff and docker commit read it: added, changed and deleted
 * names (whiteouts, opaque directories found by what the merged view hides), directories listed
 * docker's way, whiteouts written as OCI `.wh.` entries; nothing followed.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  constants as C,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Ids } from '../../../../src/runtime/files/ids.js';
import { changes, layerEntries, type LayerDirs } from '../../../../src/runtime/files/layer.js';
import { Archive } from '../../../../src/runtime/files/pack.js';

const base = mkdtempSync(path.join(tmpdir(), 'moat-layer-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const asRoot = process.getuid?.() === 0;
let n = 0;

function tree(dir: string, files: Record<string, string | null>): void {
  for (const [p, body] of Object.entries(files)) {
    const full = path.join(dir, p);
    if (body === null) mkdirSync(full, { recursive: true });
    else {
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, body);
    }
  }
}

/** lower (the image), upper (the container's layer), merged (as the overlay would show them). */
function layers(
  lower: Record<string, string | null>,
  upper: Record<string, string | null>,
  merged: Record<string, string | null>,
) {
  const d = path.join(base, `l${n++}`);
  for (const [k, v] of Object.entries({ lower, upper, merged })) {
    mkdirSync(path.join(d, k), { recursive: true });
    tree(path.join(d, k), v);
  }
  const open = (k: string) => openSync(path.join(d, k), C.O_RDONLY | C.O_DIRECTORY);
  const dirs: LayerDirs = { upper: open('upper'), lower: open('lower'), merged: open('merged') };
  return { d, dirs, close: () => [dirs.upper, dirs.lower!, dirs.merged!].forEach((fd) => closeSync(fd)) };
}

/** Same times for a directory in both layers: docker does not list it unless below it changed. */
function sameTimes(d: string, rel: string) {
  for (const k of ['lower', 'upper']) utimesSync(path.join(d, k, rel), 1000, 1000);
}

async function entries(dirs: LayerDirs): Promise<string[]> {
  const a = new Archive({ ids: new Ids() });
  const names: string[] = [];
  const ex = tar.extract();
  const read = (async () => {
    for await (const e of ex) {
      names.push(`${e.header.type}:${e.header.name}`);
      e.resume();
    }
  })();
  const piped = (async () => {
    for await (const c of a.pack as AsyncIterable<Buffer>) ex.write(c);
    ex.end(null);
  })();
  await layerEntries(a, dirs);
  a.finalize();
  await piped;
  await read;
  return names;
}

describe('changes', () => {
  it('lists added and changed names, parents as changed, unchanged directories not at all', () => {
    const l = layers(
      { etc: null, 'etc/passwd': 'root', usr: null, 'usr/bin/sh': 'x' },
      { etc: null, 'etc/passwd': 'root+me', 'etc/new': 'n', usr: null, tmp: null, 'tmp/a': 'a' },
      {},
    );
    sameTimes(l.d, 'etc');
    sameTimes(l.d, 'usr');
    expect(changes(l.dirs).map((c) => `${'CAD'[c.Kind]} ${c.Path}`)).toEqual([
      'C /etc',
      'A /etc/new',
      'C /etc/passwd',
      'A /tmp',
      'A /tmp/a',
    ]);
    l.close();
  });

  it('finds an opaque directory by what the merged view hides, and lists what it hides as deleted', () => {
    // /var/cache was removed and made again: the image's files there are gone from the merged view
    const l = layers(
      { var: null, 'var/cache/old1': 'o', 'var/cache/old2': 'o', 'var/cache/kept': 'k' },
      { var: null, 'var/cache': null, 'var/cache/kept': 'k2', 'var/cache/fresh': 'f' },
      { var: null, 'var/cache/kept': 'k2', 'var/cache/fresh': 'f' },
    );
    sameTimes(l.d, 'var');
    const listed = changes(l.dirs).map((c) => `${'CAD'[c.Kind]} ${c.Path}`);
    expect(listed).toContain('D /var/cache/old1');
    expect(listed).toContain('D /var/cache/old2');
    expect(listed).toContain('A /var/cache/fresh');
    expect(listed).not.toContain('D /var/cache/kept');
    l.close();
  });

  it('does not follow a symlink of the image or the container', () => {
    const l = layers({ data: null }, {}, { data: null });
    symlinkSync('/etc', path.join(l.d, 'upper', 'data2'));
    symlinkSync(path.join(base), path.join(l.d, 'upper', 'hostlink'));
    expect(changes(l.dirs).map((c) => `${'CAD'[c.Kind]} ${c.Path}`)).toEqual(['A /data2', 'A /hostlink']);
    l.close();
  });

  it.skipIf(!asRoot)('takes a 0:0 character device as a deletion (as root: mknod)', () => {
    const l = layers({ etc: null, 'etc/motd': 'hi', bin: null, 'bin/x': 'x' }, { etc: null }, {});
    sameTimes(l.d, 'etc');
    execFileSync('mknod', [path.join(l.d, 'upper', 'etc', 'motd'), 'c', '0', '0']);
    execFileSync('mknod', [path.join(l.d, 'upper', 'bin'), 'c', '0', '0']);
    expect(changes(l.dirs).map((c) => `${'CAD'[c.Kind]} ${c.Path}`)).toEqual([
      'D /bin',
      'C /etc',
      'D /etc/motd',
    ]);
    l.close();
  });
});

describe('layerEntries', () => {
  it('writes an opaque directory with .wh..wh..opq and refuses a .wh. name of the container', async () => {
    const l = layers(
      { var: null, 'var/cache/old': 'o' },
      { var: null, 'var/cache': null, 'var/cache/fresh': 'f' },
      { var: null, 'var/cache/fresh': 'f' },
    );
    expect(await entries(l.dirs)).toEqual([
      'directory:var',
      'directory:var/cache',
      'file:var/cache/.wh..wh..opq',
      'file:var/cache/fresh',
    ]);
    writeFileSync(path.join(l.d, 'upper', '.wh.etc'), '');
    await expect(entries(l.dirs)).rejects.toMatchObject({ code: 'RUNTIME_COPY_REFUSED' });
    l.close();
  });

  it.skipIf(!asRoot)('writes a whiteout as an empty .wh.NAME file (as root: mknod)', async () => {
    const l = layers({ etc: null, 'etc/motd': 'hi' }, { etc: null }, {});
    execFileSync('mknod', [path.join(l.d, 'upper', 'etc', 'motd'), 'c', '0', '0']);
    expect(await entries(l.dirs)).toEqual(['directory:etc', 'file:etc/.wh.motd']);
    l.close();
  });
});
