/**
 * `POST /containers/{id}/update` (docker update): Docker's resources onto `container.update`
 * (runtime/update.ts): Memory, MemorySwap, NanoCpus, CpuQuota, CpuPeriod, CpusetCpus and
 * PidsLimit, each left as it is when zero or empty (Docker's "unchanged"; PidsLimit when null,
 * 0 or -1 removing the limit). Every other field must be empty: what moat cannot change is
 * refused by its flag, never dropped. Answered with Docker's `{Warnings}` (a limit that applies
 * from the next start says so).
 */
import type { LimitUpdate } from '../../runtime/update.js';
import { ApiError } from '../errors.js';
import { readJson, sendJson } from '../http.js';
import { enc, refuse, type Handler } from './handler.js';

/** The flags docker update has for the fields moat refuses. */
const REFUSED: Record<string, string> = {
  CpuShares: '--cpu-shares',
  BlkioWeight: '--blkio-weight',
  CpuRealtimePeriod: '--cpu-rt-period',
  CpuRealtimeRuntime: '--cpu-rt-runtime',
  CpusetMems: '--cpuset-mems',
  KernelMemory: '--kernel-memory',
  KernelMemoryTCP: 'KernelMemoryTCP',
  MemoryReservation: '--memory-reservation',
  RestartPolicy: '--restart',
};

const empty = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === 0 ||
  v === '' ||
  v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every(empty));

const num = (b: Record<string, unknown>, k: string): number | undefined => {
  const v = b[k];
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new ApiError('API_INVALID_REQUEST', `${k} must be an integer`);
  return v;
};

/** Docker's update body → moat's update (refusing every field moat cannot change). */
export function updateFromDocker(body: unknown): LimitUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError('API_INVALID_REQUEST', 'body must be an object');
  const b = body as Record<string, unknown>;
  const known = new Set([
    'Memory',
    'MemorySwap',
    'NanoCpus',
    'CpuQuota',
    'CpuPeriod',
    'CpusetCpus',
    'PidsLimit',
  ]);
  for (const [k, v] of Object.entries(b)) {
    if (known.has(k) || empty(v)) continue;
    // Docker's named defaults: a restart policy of "no" / "" and swappiness -1 change nothing
    if (
      k === 'RestartPolicy' &&
      ['', undefined].includes((v as { Name?: string }).Name) &&
      empty((v as { MaximumRetryCount?: number }).MaximumRetryCount)
    )
      continue;
    if (k === 'MemorySwappiness' && v === -1) continue;
    refuse(
      REFUSED[k] ?? k.slice(0, 60),
      k === 'RestartPolicy'
        ? 'moat update changes limits only; the restart policy is set at create (moat run --restart)'
        : 'moat update changes --memory, --memory-swap, --cpus, --cpu-quota, --cpu-period, --cpuset-cpus and --pids-limit',
    );
  }
  const u: LimitUpdate = {};
  const memory = num(b, 'Memory');
  const swap = num(b, 'MemorySwap');
  const nano = num(b, 'NanoCpus');
  const quota = num(b, 'CpuQuota');
  const period = num(b, 'CpuPeriod');
  if (memory !== undefined) u.memory = memory;
  if (swap !== undefined) u.memorySwap = swap;
  if (nano !== undefined) u.cpus = nano / 1e9;
  if (quota !== undefined) u.cpuQuota = quota;
  if (period !== undefined) u.cpuPeriod = period;
  if (typeof b.CpusetCpus === 'string' && b.CpusetCpus !== '') u.cpusetCpus = b.CpusetCpus;
  if (b.PidsLimit !== undefined && b.PidsLimit !== null) {
    const p = b.PidsLimit;
    if (typeof p !== 'number' || !Number.isSafeInteger(p))
      throw new ApiError('API_INVALID_REQUEST', 'PidsLimit must be an integer');
    u.pidsLimit = p > 0 ? p : -1;
  }
  return u;
}

export const updateContainer: Handler = async ({ call, m, req, res }) => {
  const u = updateFromDocker(await readJson(req));
  const r = (await call('POST', `/containers/${enc(m[1])}/update`, u)) as { warnings?: string[] };
  sendJson(res, 200, { Warnings: r.warnings?.length ? r.warnings : null });
};
