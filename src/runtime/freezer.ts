/**
 * `moat pause` and `unpause`: every process of a running container stopped (and resumed) by its
 * freezer cgroup, as Docker does it. moat gives a container a freezer cgroup when it starts,
 * wherever one is delegated to the user (cgroup v1's freezer controller under
 * /sys/fs/cgroup/freezer/<user>, or v2's cgroup.freeze in the delegated subtree); without one
 * pause is refused, saying what is missing. A SIGSTOP would be seen (and could be undone) by the
 * container itself; the freezer is not.
 *
 * The record says `paused` (ps: "Up 5 minutes (Paused)", inspect: State.Paused, status paused)
 * while the container runs frozen. What can be done to a paused container is Docker's: kill -s
 * KILL, stop (its signal waits; the SIGKILL after the timeout thaws it), rm -f end it; exec is
 * refused until it is unpaused.
 */
import { cgroupFrozen, freezeCgroup, thawCgroup } from './cgroups.js';
import { RuntimeError } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import { reconcile } from './reconcile.js';
import type { ContainerRecord } from './state.js';

const named = (rec: ContainerRecord) => rec.name || rec.id.slice(0, 12);

/** The container's freezer cgroup, or why it has none (RUNTIME_PAUSE_UNSUPPORTED). */
function freezerOf(e: Lifecycle, rec: ContainerRecord): string {
  if (rec.cgroups.freezer) return rec.cgroups.freezer;
  const cg = e.deps.host.cgroup;
  if (!cg.delegated.freezer)
    throw new RuntimeError(
      'RUNTIME_PAUSE_UNSUPPORTED',
      `cannot pause ${named(rec)}: ${cg.missing.freezer ?? 'no freezer cgroup is delegated to you'}`,
      {
        hint:
          cg.version === 'v2'
            ? 'ask your administrator to delegate a cgroup subtree to your user (systemd: Delegate=yes for user@.service); containers started after that can be paused'
            : 'as root: mkdir /sys/fs/cgroup/freezer/$USER && chown -R $USER /sys/fs/cgroup/freezer/$USER; containers started after that can be paused',
        details: { missing: ['freezer'] },
      },
    );
  throw new RuntimeError(
    'RUNTIME_PAUSE_UNSUPPORTED',
    `cannot pause ${named(rec)}: it was started without a freezer cgroup (before one was delegated to you, or by an older moat)`,
    { hint: `restart it (moat restart ${named(rec)}) to give it one` },
  );
}

/** The record of a running container, reconciled, under its lock. */
async function withRunning<T>(
  e: Lifecycle,
  ref: string,
  fn: (rec: ContainerRecord) => Promise<T>,
): Promise<T> {
  const found = await e.containers.resolve(ref);
  if (found.status === 'broken')
    throw new RuntimeError('RUNTIME_CORRUPT_STATE', `container ${named(found)} has a broken record`, {
      hint: `remove it with moat rm -f ${named(found)}`,
    });
  await reconcile(e, found);
  return e.containers.update(found.id, async (rec) => {
    if (rec.status !== 'running' || !rec.pid)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${named(rec)} is not running`, {
        hint: `start it with moat start ${named(rec)}`,
      });
    return fn(rec);
  });
}

export async function pauseContainer(e: Lifecycle, ref: string): Promise<ContainerRecord> {
  return withRunning(e, ref, async (rec) => {
    if (rec.paused)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${named(rec)} is already paused`, {
        hint: `moat unpause ${named(rec)} resumes it`,
      });
    const dir = freezerOf(e, rec);
    try {
      await freezeCgroup(dir, e.deps.host.cgroup.version);
    } catch (err) {
      throw new RuntimeError(
        'RUNTIME_CGROUP_FAILED',
        `could not pause ${named(rec)}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    rec.paused = true;
    await e.containers.save(rec);
    return rec;
  });
}

export async function unpauseContainer(e: Lifecycle, ref: string): Promise<ContainerRecord> {
  return withRunning(e, ref, async (rec) => {
    const dir = rec.cgroups.freezer;
    // A pause interrupted after the freeze and before the record: frozen all the same.
    const frozen = dir ? await cgroupFrozen(dir, e.deps.host.cgroup.version) : false;
    if (!rec.paused && !frozen)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${named(rec)} is not paused`);
    if (dir) {
      try {
        await thawCgroup(dir);
      } catch (err) {
        throw new RuntimeError(
          'RUNTIME_CGROUP_FAILED',
          `could not unpause ${named(rec)}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    delete rec.paused;
    await e.containers.save(rec);
    return rec;
  });
}

/** After a signal to a paused container: SIGKILL acts once it is thawed (Docker thaws it too). */
export async function thawAfterKill(rec: ContainerRecord, signal: string): Promise<void> {
  if (!rec.paused || !rec.cgroups.freezer || !/^(KILL|9)$/.test(signal)) return;
  await thawCgroup(rec.cgroups.freezer).catch(() => {});
}
