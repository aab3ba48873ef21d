/**
 * `moat stats`'s columns, computed as the docker CLI computes them from two samples
 * (cli/command/container/stats_helpers.go): CPU % is the container's CPU time over the host's
 * since the previous sample, times the CPUs; memory is usage less inactive file pages, over the
 * limit; NET I/O and BLOCK I/O as sums; PIDS the tasks. Pure: samples in, docker's strings out.
 */
import type { StatsSample } from '../runtime/stats.js';
import { bytesSize, humanSize3 } from '../util/go-units.js';

export interface StatsRow {
  /** docker's columns, as its formatter names them (`{{.CPUPerc}}`, `{{json .}}`). */
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

/** CPU % since `pre` (0 without one, or when nothing moved). */
export function cpuPercent(cur: StatsSample, pre?: StatsSample): number {
  if (!pre?.running || !cur.running) return 0;
  const cpu = cur.cpu.totalNs - pre.cpu.totalNs;
  const sys = cur.host.cpuNs - pre.host.cpuNs;
  return sys > 0 && cpu > 0 ? (cpu / sys) * cur.host.onlineCpus * 100 : 0;
}

/** Memory in use as docker shows it: less the inactive file cache (v1 total_inactive_file, v2 inactive_file). */
export function memoryUsed(m: StatsSample['memory']): number {
  const v1 = m.stats.total_inactive_file;
  if (v1 !== undefined && v1 < m.usage) return m.usage - v1;
  const v2 = m.stats.inactive_file ?? 0;
  return v2 < m.usage ? m.usage - v2 : m.usage;
}

const pct = (v: number) => `${v.toFixed(2)}%`;

/** One row of `docker stats` for the container's latest sample and the one before it. */
export function statsRow(cur: StatsSample, pre: StatsSample | undefined, ref: string): StatsRow {
  const running = cur.running;
  const used = running ? memoryUsed(cur.memory) : 0;
  const limit = running ? cur.memory.limit : 0;
  const nets = Object.values(running ? cur.networks : {});
  const rx = nets.reduce((a, n) => a + n.rx_bytes, 0);
  const tx = nets.reduce((a, n) => a + n.tx_bytes, 0);
  return {
    Container: ref,
    ID: cur.id.slice(0, 12),
    Name: cur.name,
    CPUPerc: pct(cpuPercent(cur, pre)),
    MemUsage: `${bytesSize(used)} / ${bytesSize(limit)}`,
    MemPerc: pct(limit ? (used / limit) * 100 : 0),
    NetIO: `${humanSize3(rx)} / ${humanSize3(tx)}`,
    BlockIO: `${humanSize3(running ? cur.blkio.read : 0)} / ${humanSize3(running ? cur.blkio.write : 0)}`,
    PIDs: String(running ? cur.pids.current : 0),
  };
}

/** docker stats's default table's header and cells (`table {{.ID}}\t{{.Name}}\t...`). */
export const STATS_HEADER = [
  'CONTAINER ID',
  'NAME',
  'CPU %',
  'MEM USAGE / LIMIT',
  'MEM %',
  'NET I/O',
  'BLOCK I/O',
  'PIDS',
];

export function statsCells(r: StatsRow): string[] {
  return [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs];
}

/** The header names a template's table form uses for docker's fields. */
export const STATS_FIELD_HEADERS: Readonly<Record<keyof StatsRow, string>> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

/**
 * Go's tabwriter as docker's formatter sets it up (minimum width 10, padding 3, spaces): every
 * column but the last padded to its widest cell plus 3.
 */
export function tabTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(Math.max(10, widths[i] + 3))))
        .join('')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}
