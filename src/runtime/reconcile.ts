/**
 * Reconciliation: a record says what its monitor last wrote; when the monitor is gone (killed,
 * crashed, the machine's session ended) the record is brought in line with what is left. The
 * container lives on while its launcher (or runc's init) does; once they are gone, the exit
 * status the launcher wrote (see runc.ts LAUNCHER) is recorded — the status the container really
 * ended with, e.g. 143 after `moat stop`, not an unknown 255 — with the time it was written.
 * Nothing else changes: the start time stays what the monitor recorded.
 */
import { promises as fsp } from 'node:fs';
import { readUntrusted } from '../util/fsutil.js';
import { processAlive } from '../util/proc.js';
import { cgroupsOf, removeCgroups } from './cgroups.js';
import type { Lifecycle } from './lifecycle.js';
import { runcDelete, runcState } from './runc.js';
import { containerDirs, type ContainerRecord } from './state.js';

/** Does the record name a monitor or launcher, or claim to run? Then reality must be checked. */
const tracked = (r: ContainerRecord): boolean =>
  r.status === 'running' || r.monitorPid !== undefined || r.launcherPid !== undefined;

export const monitorAlive = (r: ContainerRecord): boolean => processAlive(r.monitorPid, r.monitorStart);

/** Is the container (or its start) still going, whatever became of its monitor? */
export async function containerAlive(e: Lifecycle, r: ContainerRecord): Promise<boolean> {
  if (processAlive(r.launcherPid, r.launcherStart)) return true;
  if (r.status !== 'running') return false;
  // Records of an older moat name no launcher: runc's state says whether init lives.
  const st = await runcState(e.runc, r.id);
  return Boolean(st && processAlive(st.pid));
}

/** Running, or being started, by a live monitor or launcher. */
export async function active(e: Lifecycle, r: ContainerRecord): Promise<boolean> {
  if (r.status === 'broken') return false;
  return monitorAlive(r) || (tracked(r) && (await containerAlive(e, r)));
}

/** The status the launcher wrote, and when. */
async function launcherStatus(r: ContainerRecord, e: Lifecycle) {
  const file = containerDirs(e.deps.paths, r.id).exitStatus;
  try {
    // Written by the launcher, as container root for root: read as such (a number, or nothing).
    const [text, st] = await Promise.all([readUntrusted(file, 16), fsp.lstat(file)]);
    const code = Number(text.trim());
    if (/^\d{1,3}$/.test(text.trim()) && code <= 255) return { code, at: st.mtime.toISOString() };
  } catch {
    /* the launcher died before it could write it */
  }
  return undefined;
}

export async function reconcile(e: Lifecycle, r: ContainerRecord): Promise<ContainerRecord> {
  if (r.status === 'broken' || !tracked(r) || monitorAlive(r) || (await containerAlive(e, r))) return r;
  return e.containers.update(r.id, async (cur) => {
    if (!tracked(cur) || monitorAlive(cur) || (await containerAlive(e, cur))) return cur;
    const d = containerDirs(e.deps.paths, cur.id);
    const ran =
      cur.status === 'running' ||
      (cur.launcherPid !== undefined && Boolean((await readUntrusted(d.initPid, 32)).trim()));
    if (ran) {
      const st = await launcherStatus(cur, e);
      cur.status = 'exited';
      cur.exitCode = st?.code ?? 255;
      cur.finishedAt = st?.at ?? new Date().toISOString();
      cur.reconciled = true;
      if (!st) cur.error = 'the monitor and the launcher ended without recording the exit status';
    }
    // A start that never finished stays 'created'.
    await removeCgroups({ ...(await cgroupsOf(cur.id, e.deps.host.cgroup)), ...cur.cgroups });
    cur.cgroups = {};
    delete cur.paused;
    await runcDelete(e.runc, cur.id);
    delete cur.monitorPid;
    delete cur.monitorStart;
    delete cur.launcherPid;
    delete cur.launcherStart;
    await e.containers.save(cur);
    return cur;
  });
}
