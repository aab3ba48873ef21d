/**
 * After the policy allowed a run: make the volumes its plan names that do not exist yet (with the
 * labels and options the mount gave), fill new (or still empty) ones from the image unless asked
 * not to, and give a new volume's root the owner its `o=uid=N,gid=N` option names.
 */
import { promises as fsp } from 'node:fs';
import { removeTreeInUserns, runInUserns, type UsernsTools } from '../../userns/exec.js';
import { toHost } from '../../userns/idmap.js';
import { RuntimeError } from '../errors.js';
import type { VolumeSpec } from '../options.js';
import { populateVolume } from './populate.js';
import { volumeOwnerOption, type CreateVolume, type VolumeRecord, type VolumeStore } from './store.js';

export interface PrepareVolumesDeps {
  readonly volumes: VolumeStore;
  tools(): UsernsTools;
  /** For root: the host IDs of container root; undefined otherwise. */
  containerRootOwner(): { uid: number; gid: number } | undefined;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  const d = await fsp.opendir(dir);
  try {
    return (await d.read()) === null;
  } finally {
    await d.close().catch(() => {});
  }
}

/** Give the volume's root the owner `uid:gid` as the container sees them. */
async function chownRoot(t: UsernsTools, dir: string, uid: number, gid: number): Promise<void> {
  if (t.callerUid === 0) {
    const u = toHost(t.maps.uidMap, uid);
    const g = toHost(t.maps.gidMap, gid);
    if (u === undefined || g === undefined)
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `volume owner ${uid}:${gid} is not mapped into containers`,
      );
    await fsp.chown(dir, u, g);
    return;
  }
  const r = await runInUserns(t, ['chown', '--', `${uid}:${gid}`, dir], { what: `give ${dir} its owner` });
  if (r.code !== 0)
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `could not give volume ${dir} the owner ${uid}:${gid}: ${r.stderr.trim()}`,
      {
        hint: 'o=uid=N,gid=N takes IDs the container has (moat info shows the mapped range)',
      },
    );
}

/** Create volume `name` unless it exists, its root given the owner `o=uid=N,gid=N` names. */
export async function makeVolume(
  e: PrepareVolumesDeps,
  name: string,
  o: CreateVolume,
): Promise<{ volume: VolumeRecord; created: boolean }> {
  const r = await e.volumes.create(name, o, e.containerRootOwner());
  const opt = volumeOwnerOption(r.volume.options);
  if (r.created && (opt.uid !== undefined || opt.gid !== undefined)) {
    try {
      await chownRoot(e.tools(), e.volumes.mountpoint(name), opt.uid ?? 0, opt.gid ?? 0);
    } catch (err) {
      await e.volumes.remove(name, (dir) => removeTreeInUserns(e.tools(), dir)).catch(() => {});
      throw err;
    }
  }
  return r;
}

/**
 * Make the volumes `volumes` name that do not exist yet and fill the new (or empty) ones from the
 * image at `imageRoot`. The anonymous volumes made are pushed onto `made` as they are made, so a
 * create that fails later can remove them (nothing half-made stays behind).
 */
export async function prepareVolumes(
  e: PrepareVolumesDeps,
  volumes: readonly VolumeSpec[],
  imageRoot: string,
  made: string[],
): Promise<void> {
  for (const v of volumes) {
    if (v.volume === undefined) continue;
    const { volume, created } = await makeVolume(e, v.volume, {
      labels: v.volumeLabels ?? {},
      options: v.volumeOptions ?? {},
      anonymous: Boolean(v.anonymous),
    });
    if (created && volume.anonymous) made.push(volume.name);
    const opt = volumeOwnerOption(volume.options);
    const dir = e.volumes.mountpoint(volume.name);
    if (!v.nocopy && !opt.nocopy && (created || (await isEmptyDir(dir))))
      await populateVolume(e, imageRoot, v.container, dir);
  }
}
