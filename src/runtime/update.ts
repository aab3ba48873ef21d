/**
 * `moat update`: new limits for a container — `--memory`, `--memory-swap`, `--cpus`,
 * `--cpu-quota`, `--cpu-period`, `--cpuset-cpus`, `--pids-limit` — recorded for its next start,
 * and written now into the cgroups of a running one. Create's checks apply to the limits as they
 * will be (plannedUpdate: pure, so the policy is shown exactly those as facts before anything is
 * written), and a limit the host's cgroups cannot enforce is refused as at create.
 *
 * A running container has a cgroup for a controller only when it was started with a limit on it
 * (and moat's process limit where the pids cgroup is delegated): a new limit on a controller it
 * runs without is recorded and applies from its next start, and the update says so in a warning
 * rather than moving its processes (which moat, not being root, could not do for processes of
 * other container users).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { checkLimits, type CgroupWrite, type Limits } from './cgroups.js';
import { effectivePids, limitsFor } from './default-limits.js';
import { RuntimeError } from './errors.js';
import type { CgroupController, CgroupFacts, Rlimit } from './host.js';
import type { Lifecycle } from './lifecycle.js';
import { checkRunOptions } from './option-checks.js';
import type { RunOptions } from './options.js';
import { reconcile } from './reconcile.js';
import type { ContainerRecord } from './state.js';

/** What an update may change. `cpuQuota: -1` removes the quota; `pidsLimit` 0 or -1: no limit. */
export interface LimitUpdate {
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
}

/** The controllers an update touches, with the flags that asked (for messages). */
export function touched(u: LimitUpdate): Partial<Record<CgroupController, string>> {
  const out: Partial<Record<CgroupController, string>> = {};
  const flags = (pairs: [keyof LimitUpdate, string][]) =>
    pairs
      .filter(([k]) => u[k] !== undefined)
      .map(([, f]) => f)
      .join(', ');
  if (u.memory !== undefined || u.memorySwap !== undefined)
    out.memory = flags([
      ['memory', '--memory'],
      ['memorySwap', '--memory-swap'],
    ]);
  if (u.cpus !== undefined || u.cpuQuota !== undefined || u.cpuPeriod !== undefined)
    out.cpu = flags([
      ['cpus', '--cpus'],
      ['cpuQuota', '--cpu-quota'],
      ['cpuPeriod', '--cpu-period'],
    ]);
  if (u.cpusetCpus !== undefined) out.cpuset = '--cpuset-cpus';
  if (u.pidsLimit !== undefined) out.pids = '--pids-limit';
  return out;
}

export interface PlannedUpdate {
  options: RunOptions;
  limits: Limits;
}

/**
 * Pure: the container's run options and limits once updated. Throws create's errors: a value
 * out of range or in conflict (RUNTIME_INVALID_OPTION), a limit the host cannot enforce
 * (RUNTIME_LIMIT_UNSUPPORTED).
 */
export function plannedUpdate(
  rec: Pick<ContainerRecord, 'options'>,
  u: LimitUpdate,
  host: { cgroup: CgroupFacts; rlimits: Record<string, Rlimit> },
): PlannedUpdate {
  if (!Object.keys(touched(u)).length)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', 'nothing to update: give at least one limit', {
      hint: 'moat update --help lists them',
    });
  const o: RunOptions = { ...rec.options };
  const set = <K extends keyof LimitUpdate & keyof RunOptions>(k: K) => {
    if (u[k] !== undefined) (o as unknown as Record<string, unknown>)[k] = u[k];
  };
  (['memory', 'memorySwap', 'cpus', 'cpuPeriod', 'cpusetCpus'] as const).forEach(set);
  if (u.cpuQuota !== undefined) {
    if (u.cpuQuota === -1) delete o.cpuQuota;
    else o.cpuQuota = u.cpuQuota;
  }
  if (u.pidsLimit !== undefined) o.pidsLimit = u.pidsLimit > 0 ? u.pidsLimit : -1;
  // Create's checks on the limits as they will be (the other options were checked at create).
  const { memory, memorySwap, cpus, cpuQuota, cpuPeriod, cpusetCpus } = o;
  checkRunOptions({ memory, memorySwap, cpus, cpuQuota, cpuPeriod, cpusetCpus });
  const limits = limitsFor(o, effectivePids(o, host.cgroup, host.rlimits));
  // Only what this update sets must be enforceable: the rest is as it was.
  const asked: Limits = {};
  const t = touched(u);
  if (t.memory) Object.assign(asked, { memory: limits.memory, memorySwap: limits.memorySwap });
  if (t.cpu)
    Object.assign(asked, { cpus: limits.cpus, cpuQuota: limits.cpuQuota, cpuPeriod: limits.cpuPeriod });
  if (t.cpuset) asked.cpusetCpus = limits.cpusetCpus;
  if (t.pids && o.pidsLimit !== -1) asked.pids = limits.pids;
  checkLimits(
    Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== undefined)) as Limits,
    host.cgroup,
  );
  return { options: o, limits };
}

/**
 * Pure: the cgroup files to write, in order, to move a running container's cgroups from `prev`
 * to `next` for the controllers in `which` (the limits sit on the `<id>` cgroup, see cgroups.ts).
 */
export function updateWrites(
  prev: Limits,
  next: Limits,
  which: readonly CgroupController[],
  version: CgroupFacts['version'],
): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const v2 = version === 'v2';
  if (which.includes('memory') && next.memory !== undefined) {
    const swap = next.memorySwap;
    if (v2) {
      w.push({ controller: 'memory', file: 'memory.max', value: String(next.memory) });
      w.push({
        controller: 'memory',
        file: 'memory.swap.max',
        value: swap === undefined ? '0' : swap < 0 ? 'max' : String(swap - next.memory),
        optional: swap === undefined,
      });
    } else {
      // memory.limit_in_bytes may never exceed memsw: raising, memsw goes first; lowering, last.
      const limit = {
        controller: 'memory',
        file: 'memory.limit_in_bytes',
        value: String(next.memory),
      } as const;
      const memsw: CgroupWrite = {
        controller: 'memory',
        file: 'memory.memsw.limit_in_bytes',
        value: swap === undefined ? String(next.memory) : String(swap < 0 ? -1 : swap),
        optional: swap === undefined,
      };
      if (next.memory > (prev.memory ?? 0)) w.push(memsw, limit);
      else w.push(limit, memsw);
    }
  }
  if (which.includes('pids'))
    w.push({
      controller: 'pids',
      file: 'pids.max',
      value: next.pids === undefined ? 'max' : String(next.pids),
    });
  if (which.includes('cpu')) {
    const period = next.cpuPeriod ?? 100_000;
    const quota = next.cpus !== undefined ? Math.max(1000, Math.round(next.cpus * 100_000)) : next.cpuQuota;
    if (v2) w.push({ controller: 'cpu', file: 'cpu.max', value: `${quota ?? 'max'} ${period}` });
    else {
      w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(period) });
      w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(quota ?? -1) });
    }
  }
  if (which.includes('cpuset') && next.cpusetCpus !== undefined)
    w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: next.cpusetCpus });
  return w;
}

async function write(dirs: Partial<Record<CgroupController, string>>, id: string, writes: CgroupWrite[]) {
  for (const w of writes) {
    const file = path.join(dirs[w.controller]!, id, w.file);
    try {
      await fsp.writeFile(file, w.value);
    } catch (e) {
      if (w.optional && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw Object.assign(new Error(`${file}: ${(e as Error).message}`), { cause: e });
    }
  }
}

export interface UpdateResult {
  id: string;
  name: string;
  limits: Limits;
  warnings: string[];
}

/** Apply an update: written into a running container's cgroups, and recorded. */
export async function updateContainer(e: Lifecycle, ref: string, u: LimitUpdate): Promise<UpdateResult> {
  const found = await e.containers.resolve(ref);
  const name = found.name || found.id.slice(0, 12);
  if (found.status === 'broken')
    throw new RuntimeError('RUNTIME_CORRUPT_STATE', `container ${name} has a broken record`, {
      hint: `remove it with moat rm -f ${name}`,
    });
  await reconcile(e, found);
  return e.containers.update(found.id, async (rec) => {
    const next = plannedUpdate(rec, u, e.deps.host);
    const warnings: string[] = [];
    if (rec.status === 'running') {
      const t = touched(u);
      const live = (Object.keys(t) as CgroupController[]).filter((c) => rec.cgroups[c]);
      for (const c of Object.keys(t) as CgroupController[])
        if (!rec.cgroups[c])
          warnings.push(`${t[c]} applies from the next start: ${name} runs without a ${c} cgroup`);
      try {
        await write(
          rec.cgroups,
          rec.id,
          updateWrites(rec.limits, next.limits, live, e.deps.host.cgroup.version),
        );
      } catch (err) {
        // What was written is put back as it was (best effort): the record still says that.
        await write(
          rec.cgroups,
          rec.id,
          updateWrites(next.limits, rec.limits, live, e.deps.host.cgroup.version),
        ).catch(() => {});
        throw new RuntimeError(
          'RUNTIME_CGROUP_FAILED',
          `could not update ${name}: ${(err as Error).message}`,
          {
            cause: err,
            hint: 'the container keeps its limits; moat info shows the delegated controllers',
          },
        );
      }
    }
    rec.options = next.options;
    rec.limits = next.limits;
    await e.containers.save(rec);
    return { id: rec.id, name: rec.name, limits: rec.limits, warnings };
  });
}
