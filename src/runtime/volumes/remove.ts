/**
 * Removing volumes: `volume rm`, `volume prune`, and a container's anonymous volumes when it goes
 * (`rm -v`, and `--rm` as docker does). A volume some container still mounts, running or not, is
 * kept; the check and the removal happen under the volumes lock, which creating a container holds
 * from making its volumes to writing its record, so no container can start using a volume that
 * is being removed.
 */
import { withLock } from '../../util/lock.js';
import type { MoatPaths } from '../../util/paths.js';
import { RuntimeError } from '../errors.js';
import type { ContainerRecord, ContainerStore } from '../state.js';
import { volumeUsers, volumesLock, VolumeStore, type VolumeRecord } from './store.js';

export interface VolumeRemoveDeps {
  readonly containers: ContainerStore;
  readonly deps: { paths: MoatPaths };
  /** Remove a tree whose files may belong to the container's other users (remove.ts). */
  removeTree(dir: string): Promise<void>;
}

const store = (e: VolumeRemoveDeps) => new VolumeStore(e.deps.paths);

/** `volume rm [-f] NAME...`: -f makes a missing volume no error (an in-use one still is). */
export async function removeVolume(
  e: VolumeRemoveDeps,
  name: string,
  force: boolean,
): Promise<string | undefined> {
  return withLock(volumesLock(e.deps.paths), async () => {
    const s = store(e);
    if (force && !(await s.find(name))) return undefined;
    await s.get(name);
    const users = volumeUsers(await e.containers.list(), name);
    if (users.length)
      throw new RuntimeError(
        'RUNTIME_VOLUME_IN_USE',
        `volume ${name} is in use by container${users.length > 1 ? 's' : ''} ${users
          .slice(0, 5)
          .map((c) => c.name)
          .join(', ')}${users.length > 5 ? ', ...' : ''}`,
        {
          hint: `remove ${users.length > 1 ? 'them' : 'it'} first (moat rm ${users[0].name}), then the volume`,
        },
      );
    await s.remove(name, (dir) => e.removeTree(dir));
    return name;
  });
}

export interface VolumePruneResult {
  deleted: string[];
  /** Bytes freed (apparent sizes of the files removed). */
  reclaimed: number;
}

/**
 * `volume prune`: the volumes no container mounts, anonymous ones only unless `all` (docker 23's
 * rule), narrowed by `keep` (the label filters).
 */
export async function pruneVolumes(
  e: VolumeRemoveDeps,
  all: boolean,
  keep: (v: VolumeRecord) => boolean,
  sizeOf: (dir: string) => Promise<number>,
): Promise<VolumePruneResult> {
  return withLock(volumesLock(e.deps.paths), async () => {
    const s = store(e);
    const containers = await e.containers.list();
    const out: VolumePruneResult = { deleted: [], reclaimed: 0 };
    for (const v of await s.list()) {
      if (!all && !v.anonymous) continue;
      if (!keep(v) || volumeUsers(containers, v.name).length) continue;
      const size = await sizeOf(s.mountpoint(v.name)).catch(() => 0);
      await s.remove(v.name, (dir) => e.removeTree(dir));
      out.deleted.push(v.name);
      out.reclaimed += size;
    }
    return out;
  });
}

/** A removed container's anonymous volumes (rm -v, --rm), unless another container mounts them. */
export async function removeAnonymousVolumes(e: VolumeRemoveDeps, rec: ContainerRecord): Promise<string[]> {
  const names = (rec.options?.volumes ?? []).filter((v) => v.anonymous && v.volume).map((v) => v.volume!);
  if (!names.length) return [];
  return withLock(volumesLock(e.deps.paths), async () => {
    const s = store(e);
    const others = (await e.containers.list()).filter((c) => c.id !== rec.id);
    const gone: string[] = [];
    for (const n of names) {
      if (volumeUsers(others, n).length || !(await s.find(n))) continue;
      await s.remove(n, (dir) => e.removeTree(dir));
      gone.push(n);
    }
    return gone;
  });
}
