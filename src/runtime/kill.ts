/**
 * Killing what a container left running when the normal way (runc kill, through the container's
 * init) cannot work: a start that never finished (runc init paused at its memory limit), a
 * launcher whose monitor is gone, processes no record knows. Everything is found from /proc and
 * the container's cgroups, never by name; the caller owns the user namespace the processes live
 * in, so it may signal them whatever their IDs inside.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { processAlive } from '../util/proc.js';

/** Parent PID of every process, from /proc (bounded by the number of processes). */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${n}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(n));
    children.set(ppid, list);
  }
  return children;
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const children = parents();
  const out: number[] = [];
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Send `signal` to each PID, ignoring those already gone; returns how many were signalled. */
export function signalAll(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): number {
  let n = 0;
  for (const p of pids) {
    if (p <= 1 || p === process.pid) continue;
    try {
      process.kill(p, signal);
      n++;
    } catch {
      /* gone, or not ours */
    }
  }
  return n;
}

/**
 * SIGKILL a process and everything below it (the tree is collected first: a killed parent's
 * children would be re-parented out of reach). With `startTime`, only if `pid` is still the
 * process recorded (a reused PID is left alone).
 */
export function killTree(pid: number | undefined, startTime?: string): number {
  if (!pid || !processAlive(pid, startTime)) return 0;
  return signalAll(processTree(pid));
}

/**
 * Processes of this user whose command line names `dir` (a container's directory: the launcher
 * and `runc run` carry its bundle path): what is left of a container whose record cannot say.
 */
export function processesNaming(dir: string): number[] {
  const out: number[] = [];
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  const needle = `${dir}/`;
  for (const n of names) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    try {
      if (uid !== undefined && uid !== 0 && statSync(`/proc/${n}`).uid !== uid) continue;
      const cmd = readFileSync(`/proc/${n}/cmdline`, 'utf8');
      if (cmd.includes(needle) || cmd.split('\0').includes(dir)) out.push(Number(n));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
