/**
 * `moat system fsck [--repair]`: what the container side of moat left inconsistent — records that
 * cannot be read, containers without their bundle, directories of interrupted creates and
 * removals, runc state and cgroups no live container owns, and processes still running for a
 * container that is gone. With `repair`, each is removed (containers as `rm -f` does, inside the
 * user namespace where their files belong to subordinate IDs); without, only reported.
 * The sibling of `moat image fsck`, which checks the image store.
 */
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { containerProcess, processAlive } from '../util/proc.js';
import { allContainerCgroups, cgroupName, cgroupProcs, killCgroups, removeCgroups } from './cgroups.js';
import type { Engine } from './engine.js';
import { killTree, processTree, signalAll } from './kill.js';
import { active } from './reconcile.js';
import { removeTree } from './remove.js';
import { runcDelete } from './runc.js';
import { containerDirs, type ContainerRecord } from './state.js';

/** Directories of creates and removals younger than this may still be in progress. */
const GRACE_MS = 60_000;

export interface FsckProblem {
  /** What is wrong: broken-record, incomplete, leftover-dir, runc-state, cgroup, process. */
  kind: 'broken-record' | 'incomplete' | 'leftover-dir' | 'runc-state' | 'cgroup' | 'process';
  /** The container ID, path or PID concerned. */
  what: string;
  name?: string;
  detail: string;
  /** Set when --repair dealt with it. */
  repaired?: boolean;
}

export interface FsckReport {
  /** Container directories looked at. */
  checked: number;
  problems: FsckProblem[];
  /** Nothing wrong was found (before any repair). */
  clean: boolean;
}

/** The start time runc recorded for a container's init (to spare a reused PID). */
function runcInit(stateFile: string): { pid: number; start?: string } | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      init_process_pid?: number;
      init_process_start?: number | string;
    };
    if (typeof s.init_process_pid !== 'number') return undefined;
    return {
      pid: s.init_process_pid,
      ...(s.init_process_start !== undefined ? { start: String(s.init_process_start) } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Processes of this user whose command line names a container directory, by container ID. */
function processesByContainer(containersDir: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const re = new RegExp(`${containersDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([0-9a-f]{64})(?:/|\\0|$)`);
  let names: string[];
  try {
    names = readdirSync('/proc'); // one pass, taken as a snapshot
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${n}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const m = re.exec(cmd);
    if (!m) continue;
    out.set(m[1], [...(out.get(m[1]) ?? []), Number(n)]);
  }
  return out;
}

/** Does this process name a container directory of another store? */
function foreign(pid: number, containersDir: string): boolean {
  let cmd: string;
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  const m = /(\/[^\0]*)\/[0-9a-f]{64}\/bundle/.exec(cmd);
  return m !== null && m[1] !== containersDir;
}

/** Were the cgroups made longer ago than `ms`? */
async function older(paths: Record<string, string | undefined>, ms: number): Promise<boolean> {
  for (const dir of Object.values(paths)) {
    const st = dir ? await fsp.stat(dir).catch(() => undefined) : undefined;
    if (st && Date.now() - st.mtimeMs < ms) return false;
  }
  return true;
}

/** Is the lock file held by a live process (see util/lock.ts)? */
async function lockHeld(file: string): Promise<boolean> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && processAlive(pid);
}

export async function fsckContainers(e: Engine, repair: boolean): Promise<FsckReport> {
  // Everything is judged first, then repaired in the order found (processes first): a repair
  // must not change what a later check sees (a killed process empties a cgroup).
  const problems: FsckProblem[] = [];
  const fixes: (() => Promise<boolean>)[] = [];
  const note = (p: FsckProblem, fix: () => Promise<boolean>) => {
    problems.push(p);
    fixes.push(fix);
  };
  const recs = new Map<string, ContainerRecord>((await e.list(true)).map((r) => [r.id, r]));
  const live = new Map<string, boolean>();
  for (const r of recs.values()) live.set(r.id, await active(e, r));

  // Processes left running for containers that are gone: killed first, so nothing below is busy.
  for (const [id, pids] of processesByContainer(e.deps.paths.containers)) {
    if (recs.has(id)) continue;
    for (const pid of pids) {
      note(
        {
          kind: 'process',
          what: String(pid),
          detail: `still running for removed container ${id.slice(0, 12)}`,
        },
        async () => killTree(pid) > 0 || !processAlive(pid),
      );
    }
  }

  // Records and directories.
  const entries = await fsp.readdir(e.deps.paths.containers).catch(() => [] as string[]);
  let checked = 0;
  for (const name of entries) {
    const full = path.join(e.deps.paths.containers, name);
    if (/^[0-9a-f]{64}$/.test(name)) {
      checked++;
      const r = recs.get(name);
      if (!r) continue; // removed meanwhile
      const fix = async () => {
        await e.remove(name, true);
        return true;
      };
      if (r.status === 'broken') {
        note({ kind: 'broken-record', what: name, name: r.name || undefined, detail: r.error ?? '' }, fix);
      } else {
        const d = containerDirs(e.deps.paths, name);
        const missing = [];
        for (const [p, what] of [
          [path.join(d.bundle, 'config.json'), 'bundle/config.json'],
          [d.upper, 'upper'],
        ] as const)
          if (!(await fsp.stat(p).catch(() => undefined))) missing.push(what);
        if (missing.length && !live.get(name))
          note(
            {
              kind: 'incomplete',
              what: name,
              name: r.name,
              detail: `${missing.join(' and ')} missing: it cannot run`,
            },
            fix,
          );
      }
      continue;
    }
    const m = /^(?:\.removing-([0-9a-f]{64})|([0-9a-f]{64})\.tmp)$/.exec(name);
    if (!m) continue;
    // A removal holds the container's lock; a create writes its files within moments.
    if (m[1] !== undefined && (await lockHeld(e.containers.lockPath(m[1])))) continue;
    const st = await fsp.lstat(full).catch(() => undefined);
    if (!st || (m[2] !== undefined && Date.now() - st.mtimeMs < GRACE_MS)) continue;
    note(
      {
        kind: 'leftover-dir',
        what: full,
        detail: name.startsWith('.removing-') ? 'an interrupted removal' : 'an interrupted create',
      },
      async () => {
        await removeTree(e, full);
        return true;
      },
    );
  }

  // runc state of containers that do not run. It belongs to container root (root's containers
  // run runc as it), so the init it names is signalled only if it is a container's process.
  const ranges = (() => {
    try {
      return e.tools().maps.uidMap;
    } catch {
      return [];
    }
  })();
  for (const id of await fsp.readdir(e.runc.root).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}$/.test(id) || live.get(id)) continue;
    const init = runcInit(path.join(e.runc.root, id, 'state.json'));
    const running =
      init !== undefined && processAlive(init.pid, init.start) && containerProcess(init.pid, ranges);
    note(
      {
        kind: 'runc-state',
        what: id,
        detail: `${recs.has(id) ? 'of a container that does not run' : 'of no container'}${running ? `, its init (pid ${init.pid}) still running` : ''}`,
      },
      async () => {
        if (running) signalAll(processTree(init.pid));
        await runcDelete(e.runc, id);
        return true;
      },
    );
  }

  // cgroups no live container owns (leaked by a start that hung, a crash). Cgroups belong to the
  // user, not to this store: one whose processes name another store's container is left alone,
  // and an empty one may be a start of any store in progress unless it is old.
  const owners = new Map<string, string>();
  for (const id of recs.keys()) owners.set(cgroupName(id), id);
  for (const [cg, paths] of await allContainerCgroups(e.deps.host.cgroup)) {
    const owner = owners.get(cg);
    if (owner && live.get(owner)) continue;
    const pids = await cgroupProcs(paths);
    if (pids.some((pid) => foreign(pid, e.deps.paths.containers))) continue;
    if ((owner || pids.length === 0) && !(await older(paths, GRACE_MS))) continue;
    note(
      {
        kind: 'cgroup',
        what: Object.values(paths).join(', '),
        detail: owner ? `of container ${owner.slice(0, 12)}, which does not run` : 'of no container',
      },
      async () => {
        await killCgroups(paths);
        await removeCgroups(paths);
        for (const dir of Object.values(paths))
          if (dir && (await fsp.stat(dir).catch(() => undefined))) return false;
        return true;
      },
    );
  }
  const clean = problems.length === 0;
  if (repair)
    for (const [i, fix] of fixes.entries()) {
      try {
        problems[i].repaired = await fix();
      } catch (err) {
        problems[i].repaired = false;
        problems[i].detail += ` (not repaired: ${(err as Error).message})`;
      }
    }
  return { checked, problems, clean };
}
