/**
 * Resource limits through the cgroup subtree the host delegates to the user. Per container and
 * controller moat creates `<delegated>/moat-<id>` and, inside it, `<id>` holding the limits (read
 * back after writing). The launcher joins `moat-<id>` before runc starts. runc is given no cgroup
 * path (rootless runc on v1 fails the whole run on any controller that is not delegated, such as
 * cpuset), so it nests the container in a child named after the container ID — exactly the
 * `<id>` cgroup that already carries the limits. runc's own threads stay outside the limits.
 * `exec` cannot rely on runc that way (rootless runc ignores a failed join): its launcher joins
 * `<id>` itself before runc starts, and leaves it once the command runs (exec.ts).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from './errors.js';
import type { CgroupController, CgroupFacts } from './host.js';

export interface Limits {
  memory?: number;
  /** Memory plus swap (`--memory-swap`): -1 for unlimited swap; unset: no swap beyond `memory`. */
  memorySwap?: number;
  pids?: number;
  cpus?: number;
  /** CFS quota and period in microseconds (`--cpu-quota`, `--cpu-period`; not with `cpus`). */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** CPUs the container may run on (`--cpuset-cpus`, e.g. `0-1,3`). */
  cpusetCpus?: string;
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
  if (l.memory !== undefined || l.memorySwap !== undefined) out.push('memory');
  if (l.pids !== undefined) out.push('pids');
  if (l.cpus !== undefined || l.cpuQuota !== undefined || l.cpuPeriod !== undefined) out.push('cpu');
  if (l.cpusetCpus !== undefined) out.push('cpuset');
  return out;
}

/** The flags that asked for each controller, as the user typed them (for refusals). */
function flagsFor(l: Limits, c: CgroupController): string {
  const f: string[] = [];
  if (c === 'memory')
    f.push(
      ...(l.memory !== undefined ? ['--memory'] : []),
      ...(l.memorySwap !== undefined ? ['--memory-swap'] : []),
    );
  if (c === 'pids') f.push('--pids-limit');
  if (c === 'cpu')
    f.push(
      ...(l.cpus !== undefined ? ['--cpus'] : []),
      ...(l.cpuQuota !== undefined ? ['--cpu-quota'] : []),
      ...(l.cpuPeriod !== undefined ? ['--cpu-period'] : []),
    );
  if (c === 'cpuset') f.push('--cpuset-cpus');
  return f.join(', ');
}

/** Pure: the files to write for these limits on this cgroup version, in order. */
export function cgroupWrites(l: Limits, version: CgroupFacts['version']): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const v2 = version === 'v2';
  if (l.memory !== undefined) {
    // By default no swap beyond the limit: an out-of-memory container is killed, not slowed to a
    // crawl. `--memory-swap` (memory plus swap, or -1 for unlimited) is written as asked, and
    // not optionally: a host without swap accounting refuses it instead of dropping it.
    const swap = l.memorySwap;
    if (v2) {
      w.push({ controller: 'memory', file: 'memory.max', value: String(l.memory) });
      if (swap === undefined)
        w.push({ controller: 'memory', file: 'memory.swap.max', value: '0', optional: true });
      else
        w.push({
          controller: 'memory',
          file: 'memory.swap.max',
          value: swap < 0 ? 'max' : String(swap - l.memory),
        });
    } else {
      w.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(l.memory) });
      // -1: the new cgroup's own memsw limit is unlimited already (the parent's still applies).
      if (swap === undefined || swap >= 0)
        w.push({
          controller: 'memory',
          file: 'memory.memsw.limit_in_bytes',
          value: String(swap ?? l.memory),
          optional: swap === undefined,
        });
      // v1 counts an OOM kill only in the victim's cgroup, which runc deletes as the container
      // ends, so the kill would go unseen. Instead the kernel pauses the container at OOM
      // (under_oom 1), the supervisor sees it, records it and kills the container itself.
      w.push({ controller: 'memory', file: 'memory.oom_control', value: '1', optional: true });
    }
  }
  if (l.pids !== undefined) w.push({ controller: 'pids', file: 'pids.max', value: String(l.pids) });
  if (l.cpus !== undefined || l.cpuQuota !== undefined || l.cpuPeriod !== undefined) {
    // --cpus is a quota over the default period; --cpu-quota/--cpu-period are given as they are.
    const period = l.cpuPeriod ?? CPU_PERIOD;
    const quota = l.cpus !== undefined ? Math.max(1000, Math.round(l.cpus * CPU_PERIOD)) : l.cpuQuota;
    if (v2) w.push({ controller: 'cpu', file: 'cpu.max', value: `${quota ?? 'max'} ${period}` });
    else {
      w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(period) });
      if (quota !== undefined) w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(quota) });
    }
  }
  if (l.cpusetCpus !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: l.cpusetCpus });
  return w;
}

/** Refuse limits the host cannot enforce: never drop one silently. */
export function checkLimits(l: Limits, facts: CgroupFacts): void {
  const missing = controllersFor(l).filter((c) => !facts.delegated[c]);
  if (missing.length) {
    throw new RuntimeError(
      'RUNTIME_LIMIT_UNSUPPORTED',
      `cannot enforce ${missing.map((c) => flagsFor(l, c)).join(', ')}: ${missing.map((c) => facts.missing[c] ?? c).join('; ')}`,
      {
        hint:
          facts.version === 'v2'
            ? 'ask your administrator to delegate the cgroup controllers to your user (systemd: Delegate=yes for user@.service)'
            : `as root: mkdir /sys/fs/cgroup/<controller>/$USER && chown -R $USER /sys/fs/cgroup/<controller>/$USER (for ${missing.join(', ')}), or drop the limit`,
        details: { missing },
      },
    );
  }
}

export type CgroupPaths = Partial<Record<CgroupController, string>>;

/** CPUs of a cpuset list (`0-2,5` → 0,1,2,5), to compare what the kernel reads back. */
export function cpuList(s: string): number[] {
  const out = new Set<number>();
  for (const part of s.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a) && i - a < 4096; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

const sameCpus = (a: string, b: string) => cpuList(a).join(',') === cpuList(b).join(',');

/** v1 cpuset: give `dir` its parent's CPUs and memory nodes where it has none yet. */
async function inheritCpuset(dir: string): Promise<void> {
  for (const f of ['cpuset.mems', 'cpuset.cpus']) {
    const own = (await fsp.readFile(path.join(dir, f), 'utf8')).trim();
    if (own) continue;
    const parent = (await fsp.readFile(path.join(path.dirname(dir), f), 'utf8')).trim();
    await fsp.writeFile(path.join(dir, f), parent);
  }
}

/** Create the container's cgroups and write its limits; on failure remove what was created. */
export async function createCgroups(
  id: string,
  l: Limits,
  facts: CgroupFacts,
  owner?: { uid: number; gid: number },
): Promise<CgroupPaths> {
  checkLimits(l, facts);
  const paths: CgroupPaths = {};
  // A freezer cgroup wherever one is delegated, so that the container can be paused.
  const controllers = [...controllersFor(l), ...(facts.delegated.freezer ? (['freezer'] as const) : [])];
  try {
    for (const c of controllers) {
      const base = facts.delegated[c]!;
      const dir = path.join(base, cgroupName(id));
      // On v2 our own cgroup may hold processes (no internal processes rule): limits go on a child.
      await fsp.mkdir(path.join(dir, id), { recursive: true });
      paths[c] = dir;
      // v1 cpuset: a new cgroup starts with no CPUs and no memory nodes, and no process can
      // join it until both are set: each level takes its parent's before the limit is written.
      if (c === 'cpuset' && facts.version !== 'v2')
        for (const d of [base, dir, path.join(dir, id)]) await inheritCpuset(d);
    }
    for (const w of cgroupWrites(l, facts.version)) {
      const file = path.join(paths[w.controller]!, id, w.file);
      try {
        await fsp.writeFile(file, w.value);
      } catch (e) {
        if (w.optional) continue;
        throw e;
      }
      const back = (await fsp.readFile(file, 'utf8')).trim();
      if (
        !w.optional &&
        w.file !== 'cpu.max' &&
        w.file !== 'memory.oom_control' &&
        w.file !== 'memory.swap.max' &&
        back !== w.value &&
        !(w.file === 'cpuset.cpus' && sameCpus(back, w.value)) &&
        !(w.file.endsWith('limit_in_bytes') && Number(back) <= Number(w.value))
      ) {
        throw new Error(`${file} reads back "${back}" after writing "${w.value}"`);
      }
    }
    if (owner) {
      // runc runs as container root (a subordinate ID for root's containers) and must be able to
      // put the container into the cgroup that holds the limits.
      for (const dir of Object.values(paths)) {
        const child = path.join(dir!, id);
        await fsp.chown(child, owner.uid, owner.gid);
        for (const f of ['cgroup.procs', 'tasks', 'cgroup.threads']) {
          await fsp.chown(path.join(child, f), owner.uid, owner.gid).catch(() => {});
        }
      }
    }
    return paths;
  } catch (e) {
    await removeCgroups(paths);
    throw new RuntimeError(
      'RUNTIME_CGROUP_FAILED',
      `could not set up cgroup limits: ${(e as Error).message}`,
      {
        cause: e,
        hint: 'check `moat info` for the delegated controllers',
      },
    );
  }
}

/**
 * Move a process into the container's cgroups: the top ones (`moat-<id>`), or with `child` (the
 * container ID) the ones below them that carry the limits. Throws on the first that fails.
 */
export async function joinCgroups(paths: CgroupPaths, pid: number, child?: string): Promise<void> {
  for (const dir of Object.values(paths)) {
    if (dir) await fsp.writeFile(path.join(dir, child ?? '', 'cgroup.procs'), String(pid));
  }
}

/** Child cgroups (runc nests one named after the container), deepest first. */
async function subtree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const ents = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of ents) if (e.isDirectory()) out.push(...(await subtree(path.join(dir, e.name))));
  out.push(dir);
  return out;
}

/** Remove the container's cgroups (they must be empty; retried briefly while processes exit). */
export async function removeCgroups(paths: CgroupPaths): Promise<void> {
  for (const top of Object.values(paths)) {
    if (!top) continue;
    for (const dir of await subtree(top)) {
      for (let i = 0; i < 40; i++) {
        try {
          await fsp.rmdir(dir);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code !== 'EBUSY') break;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    }
  }
}

/**
 * Is the container's memory cgroup out of memory right now (v1: paused by oom_kill_disable), or
 * has it had an OOM kill (v2: memory.events, which counts descendants)?
 */
export async function outOfMemory(paths: CgroupPaths, id: string): Promise<boolean> {
  const top = paths.memory;
  if (!top) return false;
  const v1 = await fsp.readFile(path.join(top, id, 'memory.oom_control'), 'utf8').catch(() => '');
  if (/under_oom 1/.test(v1) || /oom_kill [1-9]/.test(v1)) return true;
  const v2 = await fsp.readFile(path.join(top, 'memory.events'), 'utf8').catch(() => '');
  return /oom_kill [1-9]/.test(v2);
}

/** The PIDs in the cgroups (and their children), read from cgroup.procs. */
export async function cgroupProcs(paths: CgroupPaths): Promise<number[]> {
  const pids = new Set<number>();
  for (const top of Object.values(paths)) {
    if (!top) continue;
    for (const dir of await subtree(top)) {
      const text = await fsp.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const l of text.split('\n')) if (/^\d+$/.test(l.trim())) pids.add(Number(l));
    }
  }
  return [...pids];
}

/**
 * SIGKILL everything in the cgroups: the way to end a container whose init cannot be reached
 * through runc (a start that never finished). A process paused at the memory limit (v1,
 * oom_kill_disable) sleeps killably; the kernel is told to resolve the OOM itself as well.
 * Returns how many processes were signalled.
 */
export async function killCgroups(paths: CgroupPaths): Promise<number> {
  await releaseOom(paths);
  let n = 0;
  for (const pid of await cgroupProcs(paths)) {
    try {
      process.kill(pid, 'SIGKILL');
      n++;
    } catch {
      /* gone meanwhile */
    }
  }
  // A paused container's processes die only once thawed.
  if (paths.freezer) await thawCgroup(paths.freezer).catch(() => {});
  return n;
}

/**
 * How a cgroup is frozen: v1's freezer controller (`freezer.state`, FREEZING until every task
 * is frozen) or v2's `cgroup.freeze` (`frozen 1` in cgroup.events once done). Freezing a cgroup
 * freezes everything below it.
 */
export function freezerFiles(version: CgroupFacts['version']) {
  return version === 'v2'
    ? {
        file: 'cgroup.freeze',
        frozen: '1',
        thawed: '0',
        state: 'cgroup.events',
        isFrozen: (t: string) => /^frozen 1$/m.test(t),
      }
    : {
        file: 'freezer.state',
        frozen: 'FROZEN',
        thawed: 'THAWED',
        state: 'freezer.state',
        isFrozen: (t: string) => t.trim() === 'FROZEN',
      };
}

/** Is the cgroup frozen (every task stopped)? */
export async function cgroupFrozen(dir: string, version: CgroupFacts['version']): Promise<boolean> {
  const f = freezerFiles(version);
  return f.isFrozen(await fsp.readFile(path.join(dir, f.state), 'utf8').catch(() => ''));
}

/** Freeze a cgroup and wait until it is frozen; undone (thawed) if it does not get there in time. */
export async function freezeCgroup(
  dir: string,
  version: CgroupFacts['version'],
  timeoutMs = 5000,
): Promise<void> {
  const f = freezerFiles(version);
  await fsp.writeFile(path.join(dir, f.file), f.frozen);
  for (const deadline = Date.now() + timeoutMs; !(await cgroupFrozen(dir, version));) {
    if (Date.now() > deadline) {
      await fsp.writeFile(path.join(dir, f.file), f.thawed).catch(() => {});
      throw new Error(`${path.join(dir, f.state)} did not read frozen within ${timeoutMs} ms`);
    }
    // v1 may stay FREEZING while a task is in the kernel: asking again retries it
    if (version !== 'v2') await fsp.writeFile(path.join(dir, f.file), f.frozen).catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Thaw a cgroup (whichever version's file it has). */
export async function thawCgroup(dir: string): Promise<void> {
  const v1 = path.join(dir, 'freezer.state');
  const which = await fsp.access(v1).then(
    () => 'v1' as const,
    () => 'v2' as const,
  );
  const f = freezerFiles(which);
  await fsp.writeFile(path.join(dir, f.file), f.thawed);
}

/** v1: let the kernel's OOM killer act again in cgroups paused at their limit. */
export async function releaseOom(paths: CgroupPaths): Promise<void> {
  if (!paths.memory) return;
  for (const dir of await subtree(paths.memory))
    await fsp.writeFile(path.join(dir, 'memory.oom_control'), '0').catch(() => {});
}

/** The name of a container's cgroup under each delegated controller (see createCgroups). */
export function cgroupName(id: string): string {
  return `moat-${id.slice(0, 16)}`;
}

/**
 * The cgroups that exist for a container, found from its ID alone: for a record that is
 * unreadable or that never got to save them (a start that hung).
 */
export async function cgroupsOf(id: string, facts: CgroupFacts): Promise<CgroupPaths> {
  const out: CgroupPaths = {};
  for (const [c, base] of Object.entries(facts.delegated) as [CgroupController, string][]) {
    const dir = path.join(base, cgroupName(id));
    if (
      await fsp.stat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      )
    )
      out[c] = dir;
  }
  return out;
}

/** Every container cgroup (moat-<16 hex>) under the delegated controllers, by name. */
export async function allContainerCgroups(facts: CgroupFacts): Promise<Map<string, CgroupPaths>> {
  const out = new Map<string, CgroupPaths>();
  for (const [c, base] of Object.entries(facts.delegated) as [CgroupController, string][]) {
    for (const e of await fsp.readdir(base, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory() || !/^moat-[0-9a-f]{16}$/.test(e.name)) continue;
      const paths = out.get(e.name) ?? {};
      paths[c] = path.join(base, e.name);
      out.set(e.name, paths);
    }
  }
  return out;
}
