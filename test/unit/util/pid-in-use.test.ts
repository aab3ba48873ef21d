/** pidInUse: the liveness check of lock holders, runc's init and unpackers (util/proc.ts). */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MoatError } from '../../../src/errors.js';
import { acquire } from '../../../src/util/lock.js';
import { pidInUse, processStartTime } from '../../../src/util/proc.js';

describe('pidInUse', () => {
  it('a live process is in use, with or without its start time', () => {
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(pidInUse(process.pid)).toBe(true);
    expect(pidInUse(process.pid, start)).toBe(true);
  });

  it('a pid reused by a later process is not, when the start time was recorded', () => {
    const start = Number(processStartTime(process.pid));
    expect(pidInUse(process.pid, String(start + 1))).toBe(false);
  });

  it('a pid nobody has, and nonsense pids, are not in use', () => {
    expect(pidInUse(999_999_999)).toBe(false);
    for (const pid of [0, -1, Number.NaN, 1.5]) expect(pidInUse(pid)).toBe(false);
  });

  it("another user's process is in use (kill(0) says EPERM)", () => {
    // pid 1 belongs to root: for a non-root caller kill(1, 0) is EPERM; for root it succeeds.
    expect(pidInUse(1)).toBe(true);
  });

  it('a zombie is not in use: it has exited, whatever it held is free', async () => {
    // A zombie of our own would be reaped by node: make it a grandchild, under a parent that
    // execs into sleep and so never waits for it.
    // The child outlives the exec by a moment: one that exits first may be reaped by sh itself.
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 10'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = await new Promise<number>((resolve) =>
      parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    // The child exits soon; its parent (now `sleep`, after exec) never waits for it.
    for (let i = 0; i < 200 && !/\) Z /.test(statOf(pid)); i++) await new Promise((r) => setTimeout(r, 25));
    expect(statOf(pid)).toMatch(/\) Z /);
    let killOk = true;
    try {
      process.kill(pid, 0);
    } catch {
      killOk = false;
    }
    expect(killOk).toBe(true); // what kill(0) alone would have called alive
    expect(pidInUse(pid)).toBe(false);
    parent.kill('SIGKILL');
  });
});

describe('lock holders', () => {
  const file = () => path.join(mkdtempSync(path.join(tmpdir(), 'moat-lock-')), 'x.lock');

  it("a holder's pid now used by a later process is stale, when the file has the start time", async () => {
    const f = file();
    writeFileSync(f, `${process.pid} deadbeef ${Number(processStartTime(process.pid)) + 1}\n`);
    const release = await acquire(f, { timeoutMs: 1000 });
    await release();
    expect(existsSync(f)).toBe(false);
  });

  it('a live holder keeps the lock, whether its file has a start time or not (older moats)', async () => {
    for (const text of [
      `${process.pid} deadbeef ${processStartTime(process.pid)}\n`,
      `${process.pid} deadbeef\n`,
    ]) {
      const f = file();
      writeFileSync(f, text);
      const err = await acquire(f, { timeoutMs: 50 }).then(
        () => undefined,
        (e: MoatError) => e,
      );
      expect(err?.code, text).toBe('RUNTIME_LOCK_TIMEOUT');
    }
  });
});

function statOf(pid: number): string {
  try {
    return spawnSync('cat', [`/proc/${pid}/stat`]).stdout.toString();
  } catch {
    return '';
  }
}
