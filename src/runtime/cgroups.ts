/**
 * Resource limits through the cgroup subtree the host delegates to the user. moat creates one
 * cgroup per container under the delegated directory of each controller, writes the limits,
 * reads them back, and places the launcher in it before runc starts (so the container and
 * everything `exec` adds inherit it). runc itself is given no cgroup path: rootless runc on v1
 * cannot create cgroups in controllers that are not delegated, and would fail the whole run.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from './errors.js';
import type { CgroupController, CgroupFacts } from './host.js';

export interface Limits {
  memory?: number;
  pids?: number;
  cpus?: number;
}

export interface CgroupWrite {
  controller: CgroupController;
  file: string;
  value: string;
  /** Optional files (absent on some kernels) are skipped when missing. */
  optional?: boolean;
}

const CPU_PERIOD = 100_000;

/** The controllers a set of limits needs. */
export function controllersFor(l: Limits): CgroupController[] {
  const out: CgroupController[] = [];
  if (l.memory !== undefined) out.push('memory');
  if (l.pids !== undefined) out.push('pids');
  if (l.cpus !== undefined) out.push('cpu');
  return out;
}

/** Pure: the files to write for these limits on this cgroup version, in order. */
export function cgroupWrites(l: Limits, version: CgroupFacts['version']): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const v2 = version === 'v2';
  if (l.memory !== undefined) {
    if (v2) {
      w.push({ controller: 'memory', file: 'memory.max', value: String(l.memory) });
      w.push({ controller: 'memory', file: 'memory.swap.max', value: '0', optional: true });
    } else {
      w.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(l.memory) });
      // No swap beyond the limit: an out-of-memory container is killed, not slowed to a crawl.
      w.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(l.memory), optional: true });
    }
  }
  if (l.pids !== undefined) w.push({ controller: 'pids', file: 'pids.max', value: String(l.pids) });
  if (l.cpus !== undefined) {
    const quota = Math.max(1000, Math.round(l.cpus * CPU_PERIOD));
    if (v2) w.push({ controller: 'cpu', file: 'cpu.max', value: `${quota} ${CPU_PERIOD}` });
    else {
      w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD) });
      w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(quota) });
    }
  }
  return w;
}

/** Refuse limits the host cannot enforce: never drop one silently. */
export function checkLimits(l: Limits, facts: CgroupFacts): void {
  const flag: Record<CgroupController, string> = { memory: '--memory', pids: '--pids-limit', cpu: '--cpus' };
  const missing = controllersFor(l).filter((c) => !facts.delegated[c]);
  if (missing.length) {
    throw new RuntimeError(
      'RUNTIME_LIMIT_UNSUPPORTED',
      `cannot enforce ${missing.map((c) => flag[c]).join(', ')}: ${missing.map((c) => facts.missing[c] ?? c).join('; ')}`,
      {
        hint:
          facts.version === 'v2'
            ? 'ask your administrator to delegate the cgroup controllers to your user (systemd: Delegate=yes for user@.service)'
            : 'as root: mkdir /sys/fs/cgroup/<controller>/$USER && chown -R $USER /sys/fs/cgroup/<controller>/$USER (for memory, pids, cpu), or drop the limit',
        details: { missing },
      },
    );
  }
}

export type CgroupPaths = Partial<Record<CgroupController, string>>;

/** Create the container's cgroups and write its limits; on failure remove what was created. */
export async function createCgroups(id: string, l: Limits, facts: CgroupFacts): Promise<CgroupPaths> {
  checkLimits(l, facts);
  const paths: CgroupPaths = {};
  try {
    for (const c of controllersFor(l)) {
      const base = facts.delegated[c]!;
      const dir = path.join(base, `moat-${id.slice(0, 16)}`);
      // On v2 our own cgroup may hold processes (no internal processes rule): limits go on a child.
      await fsp.mkdir(dir, { recursive: true });
      paths[c] = dir;
    }
    for (const w of cgroupWrites(l, facts.version)) {
      const file = path.join(paths[w.controller]!, w.file);
      try {
        await fsp.writeFile(file, w.value);
      } catch (e) {
        if (w.optional) continue;
        throw e;
      }
      const back = (await fsp.readFile(file, 'utf8')).trim();
      if (!w.optional && w.file !== 'cpu.max' && back !== w.value && !(w.file.endsWith('limit_in_bytes') && Number(back) <= Number(w.value))) {
        throw new Error(`${file} reads back "${back}" after writing "${w.value}"`);
      }
    }
    return paths;
  } catch (e) {
    await removeCgroups(paths);
    throw new RuntimeError('RUNTIME_CGROUP_FAILED', `could not set up cgroup limits: ${(e as Error).message}`, {
      cause: e,
      hint: 'check `moat info` for the delegated controllers',
    });
  }
}

/** Move a process into the container's cgroups. */
export async function joinCgroups(paths: CgroupPaths, pid: number): Promise<void> {
  for (const dir of Object.values(paths)) {
    if (dir) await fsp.writeFile(path.join(dir, 'cgroup.procs'), String(pid));
  }
}

/** Remove the container's cgroups (they must be empty; retried briefly while processes exit). */
export async function removeCgroups(paths: CgroupPaths): Promise<void> {
  for (const dir of Object.values(paths)) {
    if (!dir) continue;
    for (let i = 0; i < 20; i++) {
      try {
        await fsp.rmdir(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || i === 19) break;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }
}

/** Was the container killed by the memory controller? (v1: memory.oom_control's oom_kill counter.) */
export async function oomKilled(paths: CgroupPaths): Promise<boolean> {
  const dir = paths.memory;
  if (!dir) return false;
  for (const f of ['memory.oom_control', 'memory.events']) {
    try {
      const text = await fsp.readFile(path.join(dir, f), 'utf8');
      const m = /oom_kill (\d+)/.exec(text);
      if (m) return Number(m[1]) > 0;
    } catch {
      /* try the other file */
    }
  }
  return false;
}
