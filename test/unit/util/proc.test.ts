/** What moat checks of a pid it reads from a file container root can write. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { containerProcess, descendantOf } from '../../../src/util/proc.js';

const uid = process.getuid?.() ?? 0;

describe('descendantOf', () => {
  it('follows parents up to the ancestor, a few generations at most', async () => {
    // sh → sleep: the sleep is below this process (two generations).
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const sleep = await new Promise<number>((resolve) =>
        sh.stdout.once('data', (b: Buffer) => resolve(Number(String(b).trim()))),
      );
      expect(descendantOf(sleep, sh.pid)).toBe(true);
      expect(descendantOf(sleep, process.pid)).toBe(true);
      expect(descendantOf(sleep, process.pid, 0)).toBe(false);
      expect(descendantOf(process.pid, sh.pid)).toBe(false);
      expect(descendantOf(1, sh.pid)).toBe(false);
      expect(descendantOf(Number.NaN, sh.pid)).toBe(false);
      expect(descendantOf(sleep, undefined)).toBe(false);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});

describe('containerProcess', () => {
  it("refuses a process in moat's own user namespace, whatever its uid", () => {
    expect(containerProcess(process.pid, [{ hostID: uid, size: 1 }])).toBe(false);
    expect(containerProcess(1, [{ hostID: 0, size: 4294967295 }])).toBe(false);
  });

  it('accepts a process in another user namespace whose uids are in the range', async () => {
    const child = spawn('unshare', ['--user', '--map-root-user', 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      if (child.exitCode !== null) return; // no user namespaces here
      expect(containerProcess(child.pid!, [{ hostID: uid, size: 1 }])).toBe(true);
      expect(containerProcess(child.pid!, [{ hostID: uid + 1, size: 10 }])).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses pids that are not processes', () => {
    expect(containerProcess(0, [{ hostID: 0, size: 65536 }])).toBe(false);
    expect(containerProcess(-1, [{ hostID: 0, size: 65536 }])).toBe(false);
    expect(containerProcess(2 ** 22 + 1, [{ hostID: 0, size: 65536 }])).toBe(false);
  });
});
