/** Files moat writes get exactly their modes; files another user may write are read with care. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readUntrusted, writeFileAtomic, writeFileAtomicSync } from '../../../src/util/fsutil.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'moat-fsutil-'));

describe('writeFileAtomic', () => {
  it('is private by default and gets the mode asked for whatever the umask', async () => {
    const d = dir();
    const old = process.umask(0);
    try {
      await writeFileAtomic(path.join(d, 'a'), 'x');
      writeFileAtomicSync(path.join(d, 'b'), 'x');
      process.umask(0o077);
      await writeFileAtomic(path.join(d, 'c'), 'x', 0o640);
    } finally {
      process.umask(old);
    }
    const mode = (f: string) => statSync(path.join(d, f)).mode & 0o777;
    expect([mode('a'), mode('b'), mode('c')]).toEqual([0o600, 0o600, 0o640]);
  });
});

describe('readUntrusted', () => {
  it('reads at most max bytes, the last ones for a tail', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'log'), 'first\nsecond\nthird\n');
    expect(await readUntrusted(path.join(d, 'log'), 6)).toBe('first\n');
    expect(await readUntrusted(path.join(d, 'log'), 6, { tail: true })).toBe('third\n');
    expect(await readUntrusted(path.join(d, 'log'), 1000)).toBe('first\nsecond\nthird\n');
  });

  it('returns nothing, at once, for a FIFO, a symlink, a directory or a missing file', async () => {
    const d = dir();
    execFileSync('mkfifo', [path.join(d, 'fifo')]);
    writeFileSync(path.join(d, 'real'), '123');
    symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
    const t0 = Date.now();
    for (const f of ['fifo', 'link', '.', 'missing'])
      expect(await readUntrusted(path.join(d, f), 100), f).toBe('');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
