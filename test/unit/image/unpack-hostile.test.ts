import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/image/errors.js';
import { applyLayer } from '../../../src/image/unpack.js';
import {
  dir,
  file,
  hardlink,
  sandbox,
  setTypeflag,
  streamOf,
  symlink,
  tarOf,
  type Entry,
  type Sandbox,
} from './fixtures-unpack/tar.js';

let sb: Sandbox;
let before: string[];
beforeEach(async () => {
  sb = await sandbox();
  before = await sb.hostView();
});
afterEach(async () => {
  // Whatever happened, nothing beside the rootfs changed.
  expect(await sb.hostView()).toEqual(before);
  await sb.cleanup();
});

const applyTar = (tar: Buffer): Promise<unknown> =>
  applyLayer(sb.rootfs, streamOf(tar), { ownership: 'squash' });
const apply = async (entries: Entry[]): Promise<unknown> => applyTar(await tarOf(entries));
const refused = async (entries: Entry[] | Promise<unknown>, code: string): Promise<void> => {
  const p = Array.isArray(entries) ? apply(entries) : entries;
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  expect(err).toMatchObject({ code });
};
const at = (p: string): string => path.join(sb.rootfs, p);
const exists = (p: string): Promise<boolean> =>
  fsp.lstat(p).then(
    () => true,
    () => false,
  );

describe('unsafe names', () => {
  it.each([['../escape'], ['a/../../escape'], ['./../x'], ['ok/..'], ['/etc/passwd'], ['//x']])(
    'refuses %s with IMAGE_UNSAFE_PATH',
    async (name) => {
      await refused([file('fine', 'f'), file(name, 'evil')], 'IMAGE_UNSAFE_PATH');
    },
  );

  it('validates the pax path, not the ustar name', async () => {
    // tar-stream writes the ustar name "PaxHeader" and the real path in a pax record.
    await refused([file('../escape', 'evil', { pax: { comment: 'x' } })], 'IMAGE_UNSAFE_PATH');
    await refused([file('ok', 'evil', { pax: { path: '../escape' } })], 'IMAGE_UNSAFE_PATH');
  });

  it('validates the pax linkpath of symlinks and hardlinks', async () => {
    await refused([{ ...symlink('s', '../../x'), pax: { comment: 'x' } }], 'IMAGE_UNSAFE_LINK');
    await refused(
      [file('f', 'f'), { ...hardlink('h', '../outside/victim'), pax: { comment: 'x' } }],
      'IMAGE_UNSAFE_LINK',
    );
  });

  it('refuses names that are too long or contain NUL', async () => {
    await refused([file('d/' + 'a'.repeat(256), 'x')], 'IMAGE_UNSAFE_PATH');
    await refused([file(('a'.repeat(200) + '/').repeat(21) + 'f', 'x')], 'IMAGE_UNSAFE_PATH');
    await refused([file('ok', 'x', { pax: { path: 'a\0b' } })], 'IMAGE_UNSAFE_PATH');
  });

  it('refuses a non-directory entry for the rootfs itself and bad whiteout names', async () => {
    await refused([symlink('./', '/')], 'IMAGE_UNSAFE_PATH');
    await refused([file('d/.wh..')], 'IMAGE_UNSAFE_PATH');
    await refused([file('d/.wh.')], 'IMAGE_UNSAFE_PATH');
  });
});

describe('unsafe symlinks', () => {
  it('refuses a relative symlink that climbs out, and never writes through it', async () => {
    await refused([symlink('a', '../../x'), file('a/evil', 'evil')], 'IMAGE_UNSAFE_LINK');
    await refused([dir('d/e/'), symlink('d/e/up', '../../../outside')], 'IMAGE_UNSAFE_LINK');
    expect(await exists(at('a'))).toBe(false);
  });

  it('accepts relative symlinks that stay inside', async () => {
    await apply([dir('d/e/'), symlink('d/e/up', '../../etc'), symlink('d/e/dot', './../x/../y')]);
    expect(await fsp.readlink(at('d/e/up'))).toBe('../../etc');
  });

  it('resolves an absolute symlink parent inside the rootfs, never on the host', async () => {
    const name = `moat-unpack-evil-${process.pid}-${Date.now()}`;
    await apply([dir('tmp/'), symlink('a', '/tmp'), file(`a/${name}`, 'evil')]);
    expect(await fsp.readFile(at(`tmp/${name}`), 'utf8')).toBe('evil');
    expect(await exists(path.join(os.tmpdir(), name))).toBe(false);
    expect(await exists(path.join('/tmp', name))).toBe(false);
  });

  it('refuses to create parents through a symlink to a missing directory', async () => {
    await refused([symlink('a', sb.outside), file('a/evil', 'evil')], 'IMAGE_UNSAFE_ENTRY');
  });

  it('clamps ".." of an absolute target at the rootfs', async () => {
    await apply([symlink('a', '/../../..'), file('a/landed', 'x')]);
    expect(await fsp.readFile(at('landed'), 'utf8')).toBe('x');
  });

  it('refuses traversal through an escaping symlink already in the rootfs (or a lower layer)', async () => {
    // Layers cannot create such a link; plant one to test the resolver itself.
    await fsp.symlink('../outside', at('planted'));
    await refused([file('planted/victim', 'evil')], 'IMAGE_UNSAFE_LINK');
    await refused([file('planted/.wh.victim')], 'IMAGE_UNSAFE_LINK');
    await refused([file('planted/.wh..wh..opq')], 'IMAGE_UNSAFE_LINK');
    await refused([hardlink('stolen', 'planted/victim')], 'IMAGE_UNSAFE_LINK');
    await fsp.symlink('loop', at('loop'));
    await refused([file('loop/x', 'x')], 'IMAGE_UNSAFE_LINK');
  });

  it('refuses an entry under a regular file', async () => {
    await refused([file('f', 'x'), file('f/g', 'y')], 'IMAGE_UNSAFE_ENTRY');
  });
});

describe('unsafe hardlinks', () => {
  it.each([['../outside/victim'], ['/etc/passwd'], ['a/../../x'], ['missing'], ['dir'], ['./']])(
    'refuses a hardlink to %s with IMAGE_UNSAFE_LINK',
    async (target) => {
      await refused([dir('dir/'), hardlink('l', target)], 'IMAGE_UNSAFE_LINK');
      expect(await exists(at('l'))).toBe(false);
    },
  );

  it('resolves a hardlink target through an absolute symlink inside the rootfs', async () => {
    // etc -> /etc must mean <rootfs>/etc, which has no passwd: never link the host's.
    await refused([symlink('etc', '/etc'), hardlink('p', 'etc/passwd')], 'IMAGE_UNSAFE_LINK');
    await refused([symlink('o', sb.outside), hardlink('v', 'o/victim')], 'IMAGE_UNSAFE_LINK');
  });
});

describe('unsupported entries', () => {
  it.each<[string, Entry]>([
    ['character device', { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }],
    ['block device', { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }],
    ['fifo', { name: 'run/fifo', type: 'fifo' }],
  ])('refuses a %s with IMAGE_UNSUPPORTED_ENTRY', async (_what, entry) => {
    await refused([entry], 'IMAGE_UNSUPPORTED_ENTRY');
    expect(await exists(at(entry.name))).toBe(false);
  });

  it('refuses unknown typeflags (GNU sparse, volume header)', async () => {
    const tar = await tarOf([file('sparse', 'data')]);
    await refused(applyTar(setTypeflag(tar, 0, 'S')), 'IMAGE_UNSUPPORTED_ENTRY');
    await refused(applyTar(setTypeflag(tar, 0, 'V')), 'IMAGE_UNSUPPORTED_ENTRY');
  });
});

describe('replacing directories', () => {
  it('refuses replacing a directory with a symlink, in the same or a later layer', async () => {
    await refused([dir('etc/'), symlink('etc', '/outside')], 'IMAGE_UNSAFE_ENTRY');
    await apply([dir('lib/'), file('lib/x', 'x')]);
    await refused([symlink('lib', sb.outside), file('lib/victim', 'evil')], 'IMAGE_UNSAFE_ENTRY');
    expect((await fsp.lstat(at('lib'))).isDirectory()).toBe(true);
  });

  it('refuses replacing a directory with a hardlink', async () => {
    await refused([file('f', 'x'), dir('d/'), hardlink('d', 'f')], 'IMAGE_UNSAFE_ENTRY');
  });
});
