/** moat stats's columns, computed and worded as the docker CLI does from two samples. */
import { describe, expect, it } from 'vitest';
import type { StatsSample } from '../../../src/runtime/stats.js';
import {
  cpuPercent,
  memoryUsed,
  STATS_HEADER,
  statsCells,
  statsRow,
  tabTable,
} from '../../../src/cli/stats-columns.js';

const sample = (more: Partial<StatsSample> = {}): StatsSample => ({
  id: 'c'.repeat(64),
  name: 'web',
  read: '2026-01-01T00:00:01.000Z',
  running: true,
  pids: { current: 3, limit: 50 },
  memory: { usage: 10 << 20, limit: 64 << 20, stats: { total_inactive_file: 2 << 20 } },
  cpu: { totalNs: 2e9, userNs: 1.5e9, systemNs: 0.5e9 },
  host: { cpuNs: 100e9, onlineCpus: 2 },
  networks: {},
  blkio: { read: 0, write: 0 },
  source: { memory: 'cgroup', pids: 'cgroup', cpu: 'proc' },
  ...more,
});

describe('the computations', () => {
  it('CPU %: the container’s share of the host’s CPU time since the last sample, times the CPUs', () => {
    const pre = sample();
    const cur = sample({
      cpu: { totalNs: 2.5e9, userNs: 0, systemNs: 0 },
      host: { cpuNs: 102e9, onlineCpus: 2 },
    });
    expect(cpuPercent(cur, pre)).toBeCloseTo(50);
    expect(cpuPercent(cur)).toBe(0); // no previous sample
    expect(cpuPercent(cur, sample({ running: false }))).toBe(0);
    expect(cpuPercent(pre, pre)).toBe(0); // nothing moved
  });

  it('memory less inactive file pages: v1’s total_inactive_file, else v2’s inactive_file', () => {
    expect(memoryUsed({ usage: 100, limit: 0, stats: { total_inactive_file: 30, inactive_file: 10 } })).toBe(
      70,
    );
    expect(memoryUsed({ usage: 100, limit: 0, stats: { inactive_file: 10 } })).toBe(90);
    expect(memoryUsed({ usage: 100, limit: 0, stats: { total_inactive_file: 300 } })).toBe(100);
    expect(memoryUsed({ usage: 100, limit: 0, stats: {} })).toBe(100);
  });
});

describe('a row', () => {
  it('docker’s wording of every column', () => {
    const eth0 = {
      rx_bytes: 1234,
      rx_packets: 1,
      rx_errors: 0,
      rx_dropped: 0,
      tx_bytes: 5_600_000,
      tx_packets: 1,
      tx_errors: 0,
      tx_dropped: 0,
    };
    const cur = sample({
      cpu: { totalNs: 2.5e9, userNs: 0, systemNs: 0 },
      host: { cpuNs: 102e9, onlineCpus: 2 },
      networks: { eth0 },
      blkio: { read: 819_200, write: 1_421_312 },
    });
    expect(statsRow(cur, sample(), 'web')).toEqual({
      Container: 'web',
      ID: 'cccccccccccc',
      Name: 'web',
      CPUPerc: '50.00%',
      MemUsage: '8MiB / 64MiB',
      MemPerc: '12.50%',
      NetIO: '1.23kB / 5.6MB',
      BlockIO: '819kB / 1.42MB',
      PIDs: '3',
    });
  });

  it('a stopped container: zeros, as docker shows it', () => {
    const r = statsRow(sample({ running: false }), undefined, 'old');
    expect(statsCells(r).slice(2)).toEqual(['0.00%', '0B / 0B', '0.00%', '0B / 0B', '0B / 0B', '0']);
  });

  it('the table: docker’s header, columns padded by 3 (at least 10 wide)', () => {
    const text = tabTable([STATS_HEADER, statsCells(statsRow(sample(), undefined, 'web'))]);
    expect(text.split('\n')[0]).toBe(
      'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS',
    );
    expect(text.split('\n')[1]).toBe(
      'cccccccccccc   web       0.00%     8MiB / 64MiB        12.50%    0B / 0B   0B / 0B     3',
    );
  });
});
