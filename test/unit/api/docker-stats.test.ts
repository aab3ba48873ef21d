/** Docker's stats document from moat's samples, read back the way the docker CLI computes its columns. */
import { describe, expect, it } from 'vitest';
import { dockerStats } from '../../../src/api/docker/stats.js';
import type { StatsSample } from '../../../src/runtime/stats.js';

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

type Doc = {
  name: string;
  read: string;
  pids_stats: { current?: number; limit?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number };
};

/** docker/cli's calculateCPUPercentUnix and calculateMemUsageUnixNoCache. */
function columns(d: Doc) {
  const cpuDelta = d.cpu_stats.cpu_usage.total_usage - d.precpu_stats.cpu_usage.total_usage;
  const sysDelta = d.cpu_stats.system_cpu_usage - d.precpu_stats.system_cpu_usage;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * d.cpu_stats.online_cpus * 100 : 0;
  const m = d.memory_stats;
  const inactive = m.stats?.total_inactive_file;
  const mem =
    inactive !== undefined && inactive < (m.usage ?? 0) ? (m.usage ?? 0) - inactive : (m.usage ?? 0);
  return { cpu, mem, limit: m.limit ?? 0, pids: d.pids_stats.current ?? 0 };
}

describe('dockerStats', () => {
  it('the CLI reads memory less inactive file pages over the limit, and the tasks', () => {
    const d = dockerStats(sample()) as Doc;
    expect(d.name).toBe('/web');
    expect(columns(d)).toMatchObject({ mem: 8 << 20, limit: 64 << 20, pids: 3 });
    expect(d.pids_stats).toEqual({ current: 3, limit: 50 });
  });

  it('CPU %: the change since the previous sample, against the host’s, times the CPUs', () => {
    const pre = sample();
    const cur = sample({
      read: '2026-01-01T00:00:02.000Z',
      cpu: { totalNs: 2.5e9, userNs: 2e9, systemNs: 0.5e9 },
      host: { cpuNs: 102e9, onlineCpus: 2 },
    });
    // 0.5 s of the container in 2 s of host CPU time over 2 CPUs: half a CPU, 50 %.
    expect(columns(dockerStats(cur, pre) as Doc).cpu).toBeCloseTo(50);
  });

  it('NET I/O and BLOCK I/O as the CLI sums them: networks by interface, blkio by op', () => {
    const eth0 = {
      rx_bytes: 1500,
      rx_packets: 3,
      rx_errors: 0,
      rx_dropped: 0,
      tx_bytes: 700,
      tx_packets: 2,
      tx_errors: 0,
      tx_dropped: 0,
    };
    const d = dockerStats(sample({ networks: { eth0 }, blkio: { read: 4096, write: 8192 } })) as Doc & {
      networks: Record<string, { rx_bytes: number; tx_bytes: number }>;
      blkio_stats: { io_service_bytes_recursive: { op: string; value: number }[] };
    };
    expect(d.networks).toEqual({ eth0 });
    const by = (c: string) =>
      d.blkio_stats.io_service_bytes_recursive
        .filter((e) => /^[a-z]/i.test(e.op) && e.op[0].toLowerCase() === c)
        .reduce((a, e) => a + e.value, 0);
    expect([by('r'), by('w')]).toEqual([4096, 8192]);
    // none (only loopback): no networks key, which the CLI shows as 0B / 0B
    expect('networks' in dockerStats(sample())).toBe(false);
  });

  it('a container that is not running: zeros and Docker’s zero time', () => {
    const d = dockerStats(sample({ running: false })) as Doc;
    expect(d.read).toBe('0001-01-01T00:00:00Z');
    expect(columns(d)).toEqual({ cpu: 0, mem: 0, limit: 0, pids: 0 });
  });
});
