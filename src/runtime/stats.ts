/**
 * A container's resource use right now (`docker stats`, `GET /containers/:id/stats`).
 *
 * Where moat made the container a cgroup (a `--memory` or `--pids-limit` limit), memory and
 * tasks are the cgroup's own figures (v1 `memory.usage_in_bytes`/`memory.stat`, v2
 * `memory.current`; `pids.current`), as Docker reports them. Without one, the container's
 * processes are found by their PID namespace in /proc (the owner of the container's user
 * namespace may read their links) and their resident memory and threads are summed; the limit
 * is then the host's memory, as Docker shows for an unlimited container. CPU time is the
 * cgroup's where the kernel counts it for us (v2 `cpu.stat`, v1 `cpuacct.usage`), else the
 * processes' own and their reaped children's times. Network I/O is the container's network
 * namespace's interfaces (its init's /proc/PID/net/dev) but loopback, which Docker does not count
 * either: a container with only `lo` reads 0B / 0B. Block I/O is the bytes the container's live
 * processes made the block layer read and write (/proc/PID/io `read_bytes`, `write_bytes`): moat
 * makes no blkio cgroup, and what a process that has exited did is no longer counted.
 *
 * Reads only; every read is bounded (one directory listing of /proc, small files).
 */
import { promises as fsp } from 'node:fs';
import { totalmem } from 'node:os';
import * as path from 'node:path';
import type { ContainerRecord } from './state.js';

export interface StatsSample {
  id: string;
  name: string;
  /** When it was read (ISO 8601). */
  read: string;
  running: boolean;
  /** Tasks (threads), as Docker counts them, and the limit when there is one. */
  pids: { current: number; limit?: number };
  /** Bytes; `stats` are the cgroup's memory.stat counters when there is a memory cgroup. */
  memory: { usage: number; limit: number; stats: Record<string, number> };
  /** CPU time of the container, nanoseconds. */
  cpu: { totalNs: number; userNs: number; systemNs: number };
  /** The host's CPU time (all CPUs, nanoseconds) and how many CPUs are online. */
  host: { cpuNs: number; onlineCpus: number };
  /** Bytes per network interface of the container (loopback left out, as Docker does). */
  networks: Record<string, NetCounters>;
  /** Bytes the container's processes read from and wrote to block devices. */
  blkio: { read: number; write: number };
  /** Where the figures came from: the container's cgroup or /proc. */
  source: { memory: 'cgroup' | 'proc'; pids: 'cgroup' | 'proc'; cpu: 'cgroup' | 'proc' };
}

/** One interface's counters, with Docker's names. */
export interface NetCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

export interface StatsEnv {
  /** /proc (a directory of the same shape in tests). */
  proc: string;
  /** Clock ticks per second of /proc times (USER_HZ: 100 on Linux). */
  clkTck: number;
  memTotal: number;
}

/**
 * How often Docker's daemon samples a stream (`docker stats`, `moat stats`), and how long a single
 * answer (`--no-stream`) waits for its second sample, so that its CPU % means something.
 */
export const STATS_DEFAULTS = { intervalMs: 1000, preSampleMs: 500 } as const;

const DEFAULT_ENV: StatsEnv = { proc: '/proc', clkTck: 100, memTotal: totalmem() };
/** No more /proc entries than this are looked at (a PID space is at most 4M; typical hosts far less). */
const MAX_PROCS = 1 << 16;

const read = (file: string): Promise<string | undefined> => fsp.readFile(file, 'utf8').catch(() => undefined);
const num = (s: string | undefined): number | undefined => {
  const n = s === undefined ? NaN : Number(s.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** `key value` lines (memory.stat, cpu.stat) as numbers. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** /proc/PID/stat: user and system ticks of the process and of its reaped children. */
export function parseProcStat(text: string): { user: number; system: number } | undefined {
  // The command name (field 2) may hold spaces and parentheses: fields count from its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(f[i]));
  if (![utime, stime, cutime, cstime].every(Number.isFinite)) return undefined;
  return { user: utime + cutime, system: stime + cstime };
}

/** /proc/PID/status: resident memory (bytes) and threads. */
export function parseStatus(text: string): { rss: number; threads: number } {
  const rss = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  const threads = /^Threads:\s+(\d+)/m.exec(text);
  return { rss: rss ? Number(rss[1]) * 1024 : 0, threads: threads ? Number(threads[1]) : 0 };
}

/** /proc/stat: the host's CPU time (ticks, all CPUs) and the CPUs online. */
export function parseSystemCpu(text: string): { ticks: number; online: number } {
  const first = /^cpu\s+(.*)$/m.exec(text);
  const ticks = first
    ? first[1]
        .trim()
        .split(/\s+/)
        .slice(0, 8) // user nice system idle iowait irq softirq steal (guest time is in user)
        .reduce((a, b) => a + (Number(b) || 0), 0)
    : 0;
  return { ticks, online: (text.match(/^cpu\d+\s/gm) ?? []).length };
}

/** /proc/PID/net/dev: the counters of every interface but loopback. */
export function parseNetDev(text: string): Record<string, NetCounters> {
  const out: Record<string, NetCounters> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (!name || name === 'lo' || f.length < 16 || !f.every(Number.isFinite)) continue;
    out[name] = {
      rx_bytes: f[0],
      rx_packets: f[1],
      rx_errors: f[2],
      rx_dropped: f[3],
      tx_bytes: f[8],
      tx_packets: f[9],
      tx_errors: f[10],
      tx_dropped: f[11],
    };
  }
  return out;
}

/** /proc/PID/io: the bytes the process had the block layer read and write. */
export function parseProcIo(text: string): { read: number; write: number } {
  const kv = parseKeyValues(text.replace(/:/g, ''));
  return { read: kv.read_bytes ?? 0, write: kv.write_bytes ?? 0 };
}

/** The PIDs in the same PID namespace as `pid` (the container's init). */
export async function namespacePids(pid: number, proc = DEFAULT_ENV.proc): Promise<number[]> {
  const ns = await fsp.readlink(path.join(proc, String(pid), 'ns', 'pid')).catch(() => undefined);
  if (!ns) return [];
  const entries = (await fsp.readdir(proc).catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
  const out: number[] = [];
  for (const e of entries.slice(0, MAX_PROCS)) {
    const link = await fsp.readlink(path.join(proc, e, 'ns', 'pid')).catch(() => undefined);
    if (link === ns) out.push(Number(e));
  }
  return out;
}

/** The cgroup directory holding a controller's figures for this container (limits sit on `<id>`). */
const cgroupDir = (rec: ContainerRecord, c: keyof ContainerRecord['cgroups']): string | undefined => {
  const top = rec.cgroups[c];
  return top ? path.join(top, rec.id) : undefined;
};

/** One sample of the container's use; a container that is not running reads as zeros. */
export async function sampleStats(rec: ContainerRecord, env: Partial<StatsEnv> = {}): Promise<StatsSample> {
  const e = { ...DEFAULT_ENV, ...env };
  const hostCpu = parseSystemCpu((await read(path.join(e.proc, 'stat'))) ?? '');
  const ns = (ticks: number) => Math.round((ticks * 1e9) / e.clkTck);
  const sample: StatsSample = {
    id: rec.id,
    name: rec.name,
    read: new Date().toISOString(),
    running: rec.status === 'running' && Boolean(rec.pid),
    pids: { current: 0 },
    memory: { usage: 0, limit: 0, stats: {} },
    cpu: { totalNs: 0, userNs: 0, systemNs: 0 },
    host: { cpuNs: ns(hostCpu.ticks), onlineCpus: hostCpu.online },
    networks: {},
    blkio: { read: 0, write: 0 },
    source: { memory: 'proc', pids: 'proc', cpu: 'proc' },
  };
  if (!sample.running) return sample;

  const pids = await namespacePids(rec.pid!, e.proc);
  const procs = await Promise.all(
    pids.map(async (p) => ({
      status: parseStatus((await read(path.join(e.proc, String(p), 'status'))) ?? ''),
      stat: parseProcStat((await read(path.join(e.proc, String(p), 'stat'))) ?? ''),
      io: parseProcIo((await read(path.join(e.proc, String(p), 'io'))) ?? ''),
    })),
  );
  const sum = (f: (p: (typeof procs)[number]) => number) => procs.reduce((a, p) => a + f(p), 0);
  sample.networks = parseNetDev((await read(path.join(e.proc, String(rec.pid), 'net', 'dev'))) ?? '');
  sample.blkio = { read: sum((p) => p.io.read), write: sum((p) => p.io.write) };

  const mem = cgroupDir(rec, 'memory');
  const usage = mem
    ? (num(await read(path.join(mem, 'memory.usage_in_bytes'))) ??
      num(await read(path.join(mem, 'memory.current'))))
    : undefined;
  if (mem && usage !== undefined) {
    const limit =
      num(await read(path.join(mem, 'memory.limit_in_bytes'))) ??
      num(await read(path.join(mem, 'memory.max')));
    sample.memory = {
      usage,
      limit: Math.min(limit ?? e.memTotal, e.memTotal),
      stats: parseKeyValues((await read(path.join(mem, 'memory.stat'))) ?? ''),
    };
    sample.source.memory = 'cgroup';
  } else sample.memory = { usage: sum((p) => p.status.rss), limit: e.memTotal, stats: {} };

  const pidsDir = cgroupDir(rec, 'pids');
  const current = pidsDir ? num(await read(path.join(pidsDir, 'pids.current'))) : undefined;
  if (pidsDir && current !== undefined) {
    const limit = num(await read(path.join(pidsDir, 'pids.max')));
    sample.pids = { current, ...(limit !== undefined ? { limit } : {}) };
    sample.source.pids = 'cgroup';
  } else sample.pids = { current: sum((p) => p.status.threads) };

  // v2: cpu.stat is in every cgroup directory; v1: cpuacct.usage where cpu and cpuacct are mounted together.
  const cpuDir = cgroupDir(rec, 'cpu');
  const anyDir = cpuDir ?? mem ?? pidsDir;
  const v2 = anyDir ? parseKeyValues((await read(path.join(anyDir, 'cpu.stat'))) ?? '') : {};
  const acct = cpuDir ? num(await read(path.join(cpuDir, 'cpuacct.usage'))) : undefined;
  if (v2.usage_usec !== undefined) {
    sample.cpu = {
      totalNs: v2.usage_usec * 1000,
      userNs: (v2.user_usec ?? 0) * 1000,
      systemNs: (v2.system_usec ?? 0) * 1000,
    };
    sample.source.cpu = 'cgroup';
  } else if (acct !== undefined) {
    sample.cpu = { totalNs: acct, userNs: 0, systemNs: 0 };
    sample.source.cpu = 'cgroup';
  } else {
    const user = ns(sum((p) => p.stat?.user ?? 0));
    const system = ns(sum((p) => p.stat?.system ?? 0));
    sample.cpu = { totalNs: user + system, userNs: user, systemNs: system };
  }
  return sample;
}
