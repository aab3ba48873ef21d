/**
 * Removing containers: `rm` (with -f: whatever state it is in, a start that hangs included),
 * --rm once a container has exited (done by its monitor), and containers whose record is broken.
 * A container is first ended by force when it must be: runc kill through its init when it runs,
 * then everything its launcher started and everything in its cgroups — so nothing (launcher,
 * runc, `runc init`, cgroup) outlives its record.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isMoatError } from '../errors.js';
import { removeTreeInUserns } from '../userns/exec.js';
import { processAlive } from '../util/proc.js';
import { cgroupsOf, killCgroups, removeCgroups } from './cgroups.js';
import type { Lifecycle } from './lifecycle.js';
import { RuntimeError } from './errors.js';
import { noteExit } from './exits.js';
import { killTree, processesNaming } from './kill.js';
import { active, reconcile } from './reconcile.js';
import { runcDelete, runcKill, runcState } from './runc.js';
import { containerDirs, type ContainerRecord } from './state.js';
import { containerEvent } from './events/index.js';
import { removeAnonymousVolumes } from './volumes/remove.js';
import { apiSocketOf, stopNetwork } from './network/stop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const notFound = (e: unknown) => isMoatError(e) && e.code === 'RUNTIME_CONTAINER_NOT_FOUND';

/**
 * End a container by force: SIGKILL to its init through runc (which checks it is still the
 * container's), then to the launcher's process tree and to everything in its cgroups (a start
 * that never finished has no init runc could name).
 */
export async function forceEnd(e: Lifecycle, rec: ContainerRecord): Promise<void> {
  const st = await runcState(e.runc, rec.id);
  const pid = rec.pid ?? st?.pid;
  if (pid && processAlive(pid))
    await runcKill(e.tools(), e.runc, pid, rec.id, 'KILL').catch((err: unknown) =>
      e.deps.log?.('runc kill failed', { id: rec.id, error: String(err) }),
    );
  killTree(rec.launcherPid, rec.launcherStart);
  for (const p of processesNaming(containerDirs(e.deps.paths, rec.id).dir)) killTree(p);
  await stopNetwork(containerDirs(e.deps.paths, rec.id).networkState, apiSocketOf(e.runc.root, rec.id));
  await killCgroups({ ...(await cgroupsOf(rec.id, e.deps.host.cgroup)), ...rec.cgroups });
}

/**
 * Delete the container's directory, cgroups and runc state, with its lock held; the exit status
 * is noted first for waiters (exits.ts). Returns false if it was gone already.
 */
async function deleteContainer(e: Lifecycle, id: string, rec?: ContainerRecord): Promise<boolean> {
  return e.containers.locked(id, async () => {
    const d = containerDirs(e.deps.paths, id);
    if (!(await fsp.stat(d.dir).catch(() => undefined))) return false;
    const cur = rec ?? (await e.containers.load(id));
    await noteExit(e.deps.paths, cur).catch(() => {});
    // Rename first: the container vanishes from listings at once, even if removal is interrupted.
    const gone = path.join(e.deps.paths.containers, `.removing-${id}`);
    await fsp.rename(d.dir, gone);
    containerEvent(e.deps.paths.data, 'destroy', cur);
    await removeCgroups({ ...(await cgroupsOf(id, e.deps.host.cgroup)), ...cur.cgroups });
    await runcDelete(e.runc, id);
    await leaveNetworks(e, id);
    await removeTree(e, gone);
    return true;
  });
}

/** Its places on user-defined networks go (peers' /etc/hosts lose it). */
async function leaveNetworks(e: Lifecycle, id: string): Promise<void> {
  const { NetworkStore } = await import('./network/store.js');
  const networks = new NetworkStore(e.deps.paths);
  if (!(await fsp.readdir(networks.dir).catch(() => [])).length) return;
  const { leaveAllNetworks } = await import('./network/endpoints.js');
  await leaveAllNetworks({ paths: e.deps.paths, containers: e.containers, networks }, id).catch(
    (err: unknown) => e.deps.log?.('leaving networks failed', { id, error: String(err) }),
  );
}

/**
 * Files the container created as other users belong to subordinate IDs: only root of the user
 * namespace can remove those. Most containers leave none, so try without it first.
 */
export async function removeTree(e: Lifecycle, dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true }).catch(() => removeTreeInUserns(e.tools(), dir));
}

/** Its anonymous volumes go with a container (rm -v; --rm), unless another one mounts them. */
async function removeVolumesOf(e: Lifecycle, rec: ContainerRecord): Promise<void> {
  await removeAnonymousVolumes({ ...e, removeTree: (dir) => removeTree(e, dir) }, rec);
}

/** --rm: remove a container that has ended (its monitor calls this). False if it is not there. */
export async function removeExited(e: Lifecycle, id: string): Promise<boolean> {
  let rec: ContainerRecord;
  try {
    rec = await e.containers.load(id);
  } catch (err) {
    if (notFound(err)) return false;
    throw err;
  }
  if (rec.status === 'running') return false;
  let removed: boolean;
  try {
    removed = await deleteContainer(e, id);
  } catch (err) {
    if (notFound(err)) return false;
    throw err;
  }
  // docker's --rm takes the anonymous volumes along; a failure there leaves them to volume prune.
  if (removed)
    await removeVolumesOf(e, rec).catch((err: unknown) =>
      e.deps.log?.('removing anonymous volumes failed', { id, error: String(err) }),
    );
  return removed;
}

/** `rm [-f] [-v]`: returns the container's ID. -v: its anonymous volumes too. */
export async function removeContainer(
  e: Lifecycle,
  ref: string,
  force: boolean,
  volumes = false,
): Promise<string> {
  const rec = volumes ? await e.containers.resolve(ref) : undefined;
  const id = await removeContainerOnly(e, ref, force);
  if (rec && rec.status !== 'broken') await removeVolumesOf(e, rec);
  return id;
}

async function removeContainerOnly(e: Lifecycle, ref: string, force: boolean): Promise<string> {
  let rec = await e.containers.resolve(ref);
  if (rec.status === 'broken') return removeBroken(e, rec, force);
  rec = await reconcile(e, rec);
  if (await active(e, rec)) {
    const what = rec.status === 'running' ? 'is running' : 'is starting';
    if (!force)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} ${what}`, {
        hint: `stop it first, or use moat rm -f ${rec.name}`,
      });
    await forceEnd(e, rec);
    // Its monitor records the end (and, with --rm, removes it): give it the time to.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        rec = await reconcile(e, await e.containers.load(rec.id));
      } catch (err) {
        if (notFound(err)) return rec.id;
        throw err;
      }
      if (!(await active(e, rec))) break;
      if (Date.now() > deadline) {
        // A monitor that cannot finish (stopped, stuck): it goes too.
        killTree(rec.monitorPid, rec.monitorStart);
        await forceEnd(e, rec);
        break;
      }
      await sleep(50);
    }
  }
  try {
    await deleteContainer(e, rec.id);
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  return rec.id;
}

/**
 * A container whose record cannot be read: nothing it says can be trusted, so everything that
 * can belong to it — by its ID (runc state, cgroups) and its directory (launcher, runc) — is
 * ended first. Only with -f: the record may belong to a container that still runs.
 */
async function removeBroken(e: Lifecycle, rec: ContainerRecord, force: boolean): Promise<string> {
  const short = rec.id.slice(0, 12);
  if (!force)
    throw new RuntimeError(
      'RUNTIME_CORRUPT_STATE',
      `container ${rec.name || short} has a broken record (${rec.error ?? 'unreadable'})`,
      { hint: `moat rm -f ${rec.name || short} ends whatever is left of it and removes it` },
    );
  await forceEnd(e, rec);
  await e.containers.locked(rec.id, async () => {
    const d = containerDirs(e.deps.paths, rec.id);
    const gone = path.join(e.deps.paths.containers, `.removing-${rec.id}`);
    try {
      await fsp.rename(d.dir, gone);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await removeCgroups(await cgroupsOf(rec.id, e.deps.host.cgroup));
    await runcDelete(e.runc, rec.id);
    await removeTree(e, gone);
  });
  return rec.id;
}
