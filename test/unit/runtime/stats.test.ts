/** A container's resource use from its cgroups or /proc, on a fake /proc and cgroup tree. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';
import {
  namespacePids,
  parseKeyValues,
  parseNetDev,
  parseProcIo,
  parseProcStat,
  parseStatus,
  parseSystemCpu,
  sampleStats,
} from '../../../src/runtime/stats.js';

const ID = 'c'.repeat(64);

/** A /proc with the host's CPU line and processes in two PID namespaces. */
function fakeProc(): string {
  const proc = mkdtempSync(path.join(tmpdir(), 'moat-proc-'));
  writeFileSync(
    path.join(proc, 'stat'),
    'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n',
  );
  const proc1 = (pid: number, ns: string, rssKb: number, threads: number, ticks: number[]) => {
    const d = path.join(proc, String(pid));
    mkdirSync(path.join(d, 'ns'), { recursive: true });
    symlinkSync(`pid:[${ns}]`, path.join(d, 'ns', 'pid'));
    writeFileSync(path.join(d, 'status'), `Name:\tx\nVmRSS:\t  ${rssKb} kB\nThreads:\t${threads}\n`);
    // comm with a space and a parenthesis, as a process may name itself
    writeFileSync(path.join(d, 'stat'), `${pid} (a) b) S 1 1 1 0 -1 0 0 0 0 0 ${ticks.join(' ')} 20 0 1 0`);
  };
  proc1(500, '4026532252', 1000, 1, [10, 5, 3, 2]);
  proc1(501, '4026532252', 2000, 2, [20, 10, 0, 0]);
  proc1(900, '4026531836', 99999, 9, [999, 999, 0, 0]); // the host's: not counted
  return proc;
}

function rec(more: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: ID,
    name: 'web',
    image: 'moat/busybox',
    imageId: 'sha256:1',
    created: '2026-01-01T00:00:00Z',
    status: 'running',
    pid: 500,
    command: ['sh'],
    options: defaultRunOptions('moat/busybox'),
    limits: {},
    cgroups: {},
    idmapMode: 'subordinate',
    warnings: [],
    lowerdir: '/x',
    ...more,
  };
}

describe('the parsers', () => {
  it('/proc/PID/stat counts fields after the command name, whatever it holds', () => {
    expect(parseProcStat('7 (a) b) S 1 1 1 0 -1 0 0 0 0 0 10 5 3 2 20 0')).toEqual({ user: 13, system: 7 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
  it('/proc/PID/status, /proc/stat, key-value files', () => {
    expect(parseStatus('VmRSS:\t 12 kB\nThreads:\t3\n')).toEqual({ rss: 12 * 1024, threads: 3 });
    expect(parseStatus('Name: kthread\n')).toEqual({ rss: 0, threads: 0 });
    expect(parseSystemCpu('cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1\ncpu1 1\n')).toEqual({ ticks: 36, online: 2 });
    expect(parseKeyValues('cache 10\ntotal_inactive_file 4\nbad x\n')).toEqual({
      cache: 10,
      total_inactive_file: 4,
    });
  });
});

describe('network and block I/O', () => {
  it('/proc/PID/net/dev: every interface but loopback, with Docker’s counter names', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 1500 3 1 2 0 0 0 0 700 2 3 4 0 0 0 0
`;
    expect(parseNetDev(text)).toEqual({
      eth0: {
        rx_bytes: 1500,
        rx_packets: 3,
        rx_errors: 1,
        rx_dropped: 2,
        tx_bytes: 700,
        tx_packets: 2,
        tx_errors: 3,
        tx_dropped: 4,
      },
    });
    expect(parseNetDev('')).toEqual({});
  });

  it('/proc/PID/io: the bytes read from and written to block devices (not rchar/wchar)', () => {
    const io =
      'rchar: 145085\nwchar: 105281\nsyscr: 143\nsyscw: 107\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n';
    expect(parseProcIo(io)).toEqual({ read: 4096, write: 8192 });
    expect(parseProcIo('')).toEqual({ read: 0, write: 0 });
  });

  it('summed over the container’s processes; its netns is its init’s', async () => {
    const proc = fakeProc();
    writeFileSync(path.join(proc, '500', 'io'), 'read_bytes: 100\nwrite_bytes: 10\n');
    writeFileSync(path.join(proc, '501', 'io'), 'read_bytes: 200\nwrite_bytes: 20\n');
    writeFileSync(path.join(proc, '900', 'io'), 'read_bytes: 99999\nwrite_bytes: 99999\n');
    mkdirSync(path.join(proc, '500', 'net'));
    writeFileSync(path.join(proc, '500', 'net', 'dev'), 'eth0: 5 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n');
    const s = await sampleStats(rec(), { clkTck: 100, memTotal: 2 ** 30, proc });
    expect(s.blkio).toEqual({ read: 300, write: 30 });
    expect(Object.keys(s.networks)).toEqual(['eth0']);
    expect(s.networks.eth0).toMatchObject({ rx_bytes: 5, tx_bytes: 6 });
    const stopped = await sampleStats(rec({ status: 'exited' }), { clkTck: 100, memTotal: 2 ** 30, proc });
    expect([stopped.blkio, stopped.networks]).toEqual([{ read: 0, write: 0 }, {}]);
  });
});

describe('sampleStats', () => {
  const env = { clkTck: 100, memTotal: 8 * 2 ** 30 };

  it('the processes of the container’s PID namespace only', async () => {
    const proc = fakeProc();
    expect((await namespacePids(500, proc)).sort()).toEqual([500, 501]);
    expect(await namespacePids(4242, proc)).toEqual([]);
  });

  it('without cgroups: memory, tasks and CPU summed from /proc; the host’s memory as the limit', async () => {
    const s = await sampleStats(rec(), { ...env, proc: fakeProc() });
    expect(s.running).toBe(true);
    expect(s.memory).toEqual({ usage: 3000 * 1024, limit: 8 * 2 ** 30, stats: {} });
    expect(s.pids).toEqual({ current: 3 });
    // (10+3 + 20) user ticks, (5+2 + 10) system ticks, at 100 per second
    expect(s.cpu).toEqual({ totalNs: 500_000_000, userNs: 330_000_000, systemNs: 170_000_000 });
    expect(s.host).toEqual({ cpuNs: 10_000_000_000, onlineCpus: 2 });
    expect(s.source).toEqual({ memory: 'proc', pids: 'proc', cpu: 'proc' });
  });

  it('with cgroup v1 memory and pids limits: the cgroup’s figures', async () => {
    const top = mkdtempSync(path.join(tmpdir(), 'moat-cg-'));
    const d = path.join(top, ID);
    mkdirSync(d);
    writeFileSync(path.join(d, 'memory.usage_in_bytes'), '1822720\n');
    writeFileSync(path.join(d, 'memory.limit_in_bytes'), '67108864\n');
    writeFileSync(path.join(d, 'memory.stat'), 'cache 1163264\nrss 102400\ntotal_inactive_file 8192\n');
    writeFileSync(path.join(d, 'pids.current'), '4\n');
    writeFileSync(path.join(d, 'pids.max'), '50\n');
    const s = await sampleStats(rec({ cgroups: { memory: top, pids: top } }), { ...env, proc: fakeProc() });
    expect(s.memory).toEqual({
      usage: 1822720,
      limit: 67108864,
      stats: { cache: 1163264, rss: 102400, total_inactive_file: 8192 },
    });
    expect(s.pids).toEqual({ current: 4, limit: 50 });
    expect(s.source).toEqual({ memory: 'cgroup', pids: 'cgroup', cpu: 'proc' });
  });

  it('cgroup v2: memory.current, memory.max of "max" (the host’s memory), cpu.stat, pids.max of "max"', async () => {
    const top = mkdtempSync(path.join(tmpdir(), 'moat-cg2-'));
    const d = path.join(top, ID);
    mkdirSync(d);
    writeFileSync(path.join(d, 'memory.current'), '4096\n');
    writeFileSync(path.join(d, 'memory.max'), 'max\n');
    writeFileSync(path.join(d, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n');
    writeFileSync(path.join(d, 'pids.current'), '2\n');
    writeFileSync(path.join(d, 'pids.max'), 'max\n');
    const s = await sampleStats(rec({ cgroups: { memory: top, pids: top, cpu: top } }), {
      ...env,
      proc: fakeProc(),
    });
    expect(s.memory.usage).toBe(4096);
    expect(s.memory.limit).toBe(8 * 2 ** 30);
    expect(s.cpu).toEqual({ totalNs: 1_500_000, userNs: 1_000_000, systemNs: 500_000 });
    expect(s.pids).toEqual({ current: 2 });
  });

  it('a container that is not running reads as zeros', async () => {
    const s = await sampleStats(rec({ status: 'exited', pid: undefined }), { ...env, proc: fakeProc() });
    expect(s.running).toBe(false);
    expect(s.memory).toEqual({ usage: 0, limit: 0, stats: {} });
    expect(s.pids).toEqual({ current: 0 });
    expect(s.cpu.totalNs).toBe(0);
  });
});
