/**
 * Reading an image's or a container's /etc/passwd from the host: symlinks resolve inside the root
 * (never on the host), only regular files are read, never blocking, never too much; whiteouts seen.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, readContainerFile, readImageFile } from '../../../src/runtime/container-files.js';

const base = mkdtempSync(path.join(tmpdir(), 'moat-cfiles-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function root(name: string): string {
  const r = path.join(base, name);
  mkdirSync(path.join(r, 'etc'), { recursive: true });
  return r;
}

/** The code of what `p` rejects with, and how long it took. */
async function failure(p: Promise<unknown>): Promise<{ code: unknown; ms: number; message: string }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (e) {
    return {
      code: (e as { code?: unknown }).code,
      message: (e as Error).message,
      ms: performance.now() - t0,
    };
  }
  throw new Error('expected a failure');
}

const secret = path.join(base, 'host-secret');
writeFileSync(secret, 'someuser:x:4242:4242:HOST-SECRET-MARKER:/secret:/bin/sh\n');

describe('readImageFile', () => {
  it('reads a regular file; absent reads as undefined', async () => {
    const r = root('plain');
    writeFileSync(path.join(r, 'etc/passwd'), 'app:x:1000:1000::/home/app:/bin/sh\n');
    expect(await readImageFile(r, 'etc/passwd')).toBe('app:x:1000:1000::/home/app:/bin/sh\n');
    expect(await readImageFile(r, 'etc/group')).toBeUndefined();
    expect(await readImageFile(r, '../plain/etc/passwd')).toBeUndefined();
  });

  it('resolves an absolute symlink inside the root, never to the host file it names', async () => {
    const r = root('abs-link');
    symlinkSync(secret, path.join(r, 'etc/passwd'));
    expect(await readImageFile(r, 'etc/passwd')).toBeUndefined();
    // The same name inside the root is what the container would read.
    mkdirSync(path.join(r, path.dirname(secret)), { recursive: true });
    writeFileSync(path.join(r, secret), 'inroot:x:7:7::/:/bin/sh\n');
    expect(await readImageFile(r, 'etc/passwd')).toBe('inroot:x:7:7::/:/bin/sh\n');
  });

  it('resolves relative links, chains and a symlinked directory inside the root', async () => {
    const r = root('rel-link');
    mkdirSync(path.join(r, 'real/etc'), { recursive: true });
    writeFileSync(path.join(r, 'real/etc/passwd.db'), 'chain:x:1:1::/:/bin/sh\n');
    symlinkSync('passwd.db', path.join(r, 'real/etc/passwd'));
    rmSync(path.join(r, 'etc'), { recursive: true });
    symlinkSync('/real/etc', path.join(r, 'etc'));
    expect(await readImageFile(r, 'etc/passwd')).toBe('chain:x:1:1::/:/bin/sh\n');
    // a directory symlinked to the host: resolved inside the root, where it does not exist
    const b = root('dir-to-host');
    rmSync(path.join(b, 'etc'), { recursive: true });
    symlinkSync(base, path.join(b, 'etc'));
    writeFileSync(path.join(base, 'passwd'), 'host:x:0:0\n');
    expect(await readImageFile(b, 'etc/passwd')).toBeUndefined();
  });

  it('refuses a fifo at once, directly or behind a symlink, without blocking', async () => {
    const r = root('fifo');
    execFileSync('mkfifo', [path.join(r, 'etc/passwd')]);
    const f = await failure(readImageFile(r, 'etc/passwd'));
    expect(f.code).toBe('IMAGE_UNSAFE_FILE');
    expect(f.message).toMatch(/fifo/);
    expect(f.ms).toBeLessThan(1000);
    const l = root('fifo-link');
    execFileSync('mkfifo', [path.join(l, 'etc/real')]);
    symlinkSync('/etc/real', path.join(l, 'etc/group'));
    expect((await failure(readImageFile(l, 'etc/group'))).code).toBe('IMAGE_UNSAFE_FILE');
  });

  it('does not reach /dev/zero or /proc/self/fd through a symlink', async () => {
    const r = root('dev');
    symlinkSync('/dev/zero', path.join(r, 'etc/passwd'));
    symlinkSync('/proc/self/fd/0', path.join(r, 'etc/group'));
    expect(await readImageFile(r, 'etc/passwd')).toBeUndefined();
    expect(await readImageFile(r, 'etc/group')).toBeUndefined();
  });

  it('refuses a directory, a symlink loop and a file larger than the cap', async () => {
    const r = root('odd');
    mkdirSync(path.join(r, 'etc/passwd'));
    expect((await failure(readImageFile(r, 'etc/passwd'))).code).toBe('IMAGE_UNSAFE_FILE');
    symlinkSync('group', path.join(r, 'etc/group'));
    expect((await failure(readImageFile(r, 'etc/group'))).code).toBe('IMAGE_UNSAFE_FILE');
    const big = root('big');
    writeFileSync(path.join(big, 'etc/passwd'), Buffer.alloc(MAX_FILE_BYTES + 1, 0x61));
    const f = await failure(readImageFile(big, 'etc/passwd'));
    expect(f.code).toBe('IMAGE_UNSAFE_FILE');
    expect(f.message).toMatch(/larger/);
    writeFileSync(path.join(big, 'etc/group'), Buffer.alloc(MAX_FILE_BYTES, 0x61));
    expect((await readImageFile(big, 'etc/group'))?.length).toBe(MAX_FILE_BYTES);
  });

  it('a file where a directory should be reads as absent', async () => {
    const r = path.join(base, 'etc-file');
    mkdirSync(r);
    writeFileSync(path.join(r, 'etc'), 'x');
    expect(await readImageFile(r, 'etc/passwd')).toBeUndefined();
  });
});

describe('readContainerFile', () => {
  it('prefers the upper layer, else the image', async () => {
    const upper = root('upper');
    const lower = root('lower');
    writeFileSync(path.join(lower, 'etc/passwd'), 'image\n');
    expect(await readContainerFile({ upper, lower }, 'etc/passwd')).toBe('image\n');
    writeFileSync(path.join(upper, 'etc/passwd'), 'changed\n');
    expect(await readContainerFile({ upper, lower }, 'etc/passwd')).toBe('changed\n');
  });

  it("a directory the container replaced with a file hides the image's", async () => {
    const upper = path.join(base, 'file-upper');
    mkdirSync(upper);
    const lower = root('file-lower');
    writeFileSync(path.join(lower, 'etc/passwd'), 'image\n');
    writeFileSync(path.join(upper, 'etc'), '');
    expect(await readContainerFile({ upper, lower }, 'etc/passwd')).toBeUndefined();
  });

  // overlayfs marks a deletion with a 0:0 character device, which only root can make here.
  it.skipIf(process.getuid?.() !== 0)('sees a whiteout in the upper layer as deleted', async () => {
    const upper = root('wh-upper');
    const lower = root('wh-lower');
    writeFileSync(path.join(lower, 'etc/passwd'), 'image\n');
    execFileSync('mknod', [path.join(upper, 'etc/passwd'), 'c', '0', '0']);
    expect(await readContainerFile({ upper, lower }, 'etc/passwd')).toBeUndefined();
    // and a whiteout of a directory on the way
    const up2 = path.join(base, 'wh-upper2');
    mkdirSync(up2);
    execFileSync('mknod', [path.join(up2, 'etc'), 'c', '0', '0']);
    expect(await readContainerFile({ upper: up2, lower }, 'etc/passwd')).toBeUndefined();
  });

  it("resolves the container's symlinks in the merged view, never on the host", async () => {
    const upper = root('link-upper');
    const lower = root('link-lower');
    mkdirSync(path.join(lower, 'data'));
    writeFileSync(path.join(lower, 'data/users'), 'merged:x:5:5::/:/bin/sh\n');
    symlinkSync('/data/users', path.join(upper, 'etc/passwd'));
    expect(await readContainerFile({ upper, lower }, 'etc/passwd')).toBe('merged:x:5:5::/:/bin/sh\n');
    symlinkSync(secret, path.join(upper, 'etc/group'));
    expect(await readContainerFile({ upper, lower }, 'etc/group')).toBeUndefined();
  });

  it('refuses a fifo the container made', async () => {
    const upper = root('fifo-upper');
    const lower = root('fifo-lower');
    writeFileSync(path.join(lower, 'etc/passwd'), 'image\n');
    execFileSync('mkfifo', [path.join(upper, 'etc/passwd')]);
    const f = await failure(readContainerFile({ upper, lower }, 'etc/passwd'));
    expect(f.code).toBe('IMAGE_UNSAFE_FILE');
    expect(f.message).toMatch(/the container's \/etc\/passwd is a fifo/);
  });
});
