/** Reading a container's /etc/passwd from the host: no symlink followed, no fifo opened, whiteouts seen. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readContainerFile, readRootFile } from '../../../src/runtime/container-files.js';

const base = mkdtempSync(path.join(tmpdir(), 'moat-cfiles-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function root(name: string): string {
  const r = path.join(base, name);
  mkdirSync(path.join(r, 'etc'), { recursive: true });
  return r;
}

describe('readRootFile', () => {
  it('reads a regular file', async () => {
    const r = root('plain');
    writeFileSync(path.join(r, 'etc/passwd'), 'app:x:1000:1000::/home/app:/bin/sh\n');
    expect(await readRootFile(r, 'etc/passwd')).toEqual({ text: 'app:x:1000:1000::/home/app:/bin/sh\n' });
    expect(await readRootFile(r, 'etc/group')).toBeUndefined();
    expect(await readRootFile(r, '../plain/etc/passwd')).toBeUndefined();
  });

  it('follows no symlink: neither the file nor a directory on the way', async () => {
    const secret = path.join(base, 'secret');
    writeFileSync(secret, 'root:x:0:0:host secret\n');
    const a = root('link-file');
    symlinkSync(secret, path.join(a, 'etc/passwd'));
    expect(await readRootFile(a, 'etc/passwd')).toBeUndefined();
    const b = path.join(base, 'link-dir');
    mkdirSync(b);
    symlinkSync(base, path.join(b, 'etc'));
    writeFileSync(path.join(base, 'passwd'), 'host:x:0:0\n');
    expect(await readRootFile(b, 'etc/passwd')).toBeUndefined();
  });

  it('does not open a fifo (it would block)', async () => {
    const r = root('fifo');
    execFileSync('mkfifo', [path.join(r, 'etc/passwd')]);
    expect(await readRootFile(r, 'etc/passwd')).toBeUndefined();
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
});
