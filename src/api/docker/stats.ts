/**
 * `GET /containers/{id}/stats` in Docker's shape (v1.41 `StatsJSON`), from moat's samples
 * (`container.stats`, runtime/stats.ts). The docker CLI computes its columns from these fields:
 * CPU % from the change of `cpu_stats.cpu_usage.total_usage` against `system_cpu_usage` since
 * `precpu_stats`, times `online_cpus`; memory as `usage` less `total_inactive_file` (cgroup v1)
 * or `inactive_file` (v2) over `limit`; PIDs from `pids_stats.current`; NET I/O from the sum of
 * `networks` (the container's interfaces but loopback: none yet, 0B); BLOCK I/O from the `Read`
 * and `Write` entries of `blkio_stats.io_service_bytes_recursive` (the container's processes'
 * block I/O, runtime/stats.ts).
 *
 * With `stream=false` Docker answers one sample whose `precpu_stats` is a sample taken a moment
 * before (so CPU % means something), unless `one-shot`; streaming, one sample a second, each
 * decided by the policy as a request of its own, until the client goes or the container is gone.
 */
import type { ServerResponse } from 'node:http';
import { STATS_DEFAULTS, type StatsSample } from '../../runtime/stats.js';
import type { Call } from './call.js';
import { drained, gone } from './stream.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Docker's daemon samples once a second; `stream=false` waits this long for a second sample. */
export const STREAM_INTERVAL_MS = STATS_DEFAULTS.intervalMs;
export const PRE_SAMPLE_MS = STATS_DEFAULTS.preSampleMs;

function cpuStats(s: StatsSample | undefined): Record<string, unknown> {
  return {
    cpu_usage: {
      total_usage: s?.cpu.totalNs ?? 0,
      usage_in_kernelmode: s?.cpu.systemNs ?? 0,
      usage_in_usermode: s?.cpu.userNs ?? 0,
    },
    system_cpu_usage: s?.host.cpuNs ?? 0,
    online_cpus: s?.host.onlineCpus ?? 0,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** One of Docker's stats documents; `pre` is the previous sample (none for the first). */
export function dockerStats(cur: StatsSample, pre?: StatsSample): Record<string, unknown> {
  const running = cur.running;
  return {
    name: `/${cur.name}`,
    id: cur.id,
    read: running ? cur.read : ZERO_TIME,
    preread: pre?.running ? pre.read : ZERO_TIME,
    pids_stats: running ? cur.pids : {},
    blkio_stats: {
      // Docker's CLI sums the entries by their op's first letter; the device is not known.
      io_service_bytes_recursive: running
        ? [
            { major: 0, minor: 0, op: 'Read', value: cur.blkio.read },
            { major: 0, minor: 0, op: 'Write', value: cur.blkio.write },
          ]
        : null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(running ? cur : undefined),
    precpu_stats: cpuStats(pre?.running ? pre : undefined),
    memory_stats: running
      ? { usage: cur.memory.usage, stats: cur.memory.stats, limit: cur.memory.limit }
      : {},
    ...(running && Object.keys(cur.networks).length ? { networks: cur.networks } : {}),
  };
}

/** Wait `ms`, or less if the response closes meanwhile. */
function pause(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      res.off('close', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    res.once('close', done);
  });
}

/** Answer a stats request: one document, or a stream of them. */
export async function serveStats(
  call: Call,
  id: string,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  // Docker's defaults: streaming unless stream is 0/false; one-shot off.
  const stream = !['0', 'false'].includes(q.get('stream') ?? '');
  const oneShot = q.get('one-shot') === '1' || q.get('one-shot') === 'true';
  const sample = () => call('GET', `/containers/${encodeURIComponent(id)}/stats`) as Promise<StatsSample>;
  // The first sample's errors (no such container, denied) are the response's status.
  let pre = await sample();
  if (!stream) {
    if (oneShot || !pre.running) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dockerStats(pre)));
      return;
    }
    await pause(res, PRE_SAMPLE_MS);
    const cur = await sample();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dockerStats(cur, pre)));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  let doc = dockerStats(pre);
  for (;;) {
    if (gone(res)) return;
    if (!res.write(JSON.stringify(doc) + '\n')) await drained(res);
    await pause(res, STREAM_INTERVAL_MS);
    if (gone(res)) return;
    let cur: StatsSample;
    try {
      cur = await sample();
    } catch {
      break; // removed (or no longer allowed): the stream ends
    }
    doc = dockerStats(cur, pre);
    pre = cur;
  }
  res.end();
}
