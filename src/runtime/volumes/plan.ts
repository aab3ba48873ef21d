/**
 * Which volumes a container mounts, as planning settles it (facts are reads: nothing is created
 * here; create.ts makes missing volumes after the policy allowed the run):
 *
 *   1. the mounts the request names (`-v`, `--mount`), binds and volumes;
 *   2. `--volumes-from C[:ro|:rw]`: C's binds and volumes on the same paths, unless a mount of the
 *      request covers that path (C's mode, or the one given);
 *   3. the image's `VOLUME`s not covered by any mount or tmpfs: an anonymous volume each;
 *   4. anonymous volumes named (64 hex digits), and each volume's `host` set to its directory.
 *
 * A volume's directory comes from its name only (store.ts): whatever `host` a request sent with
 * a volume is replaced, so a client cannot dress a host path up as a volume.
 */
import * as path from 'node:path';
import { RuntimeError } from '../errors.js';
import type { RunOptions, VolumeSpec } from '../options.js';
import type { ContainerRecord } from '../state.js';
import { anonymousVolumeName, type VolumeStore } from './store.js';

/** An image's VOLUMEs become volumes on the host: a hostile one does not get thousands. */
export const MAX_IMAGE_VOLUMES = 64;

const norm = (p: string) => path.posix.normalize(p).replace(/(.)\/$/, '$1');

/** `NAME[:ro|:rw]` of --volumes-from. */
export function parseVolumesFrom(s: string): { ref: string; readonly?: boolean } {
  const m = /^([^:]+)(?::(ro|rw))?$/.exec(s);
  if (!m)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --volumes-from "${s}"`, {
      hint: 'use --volumes-from CONTAINER[:ro|:rw]',
    });
  return { ref: m[1], ...(m[2] ? { readonly: m[2] === 'ro' } : {}) };
}

export async function planVolumes(
  opts: RunOptions,
  imageVolumes: Record<string, unknown> | null | undefined,
  store: VolumeStore,
  container: (ref: string) => Promise<ContainerRecord>,
): Promise<VolumeSpec[]> {
  const out: VolumeSpec[] = opts.volumes.map((v) => ({ ...v }));
  const taken = new Set([...out.map((v) => norm(v.container)), ...opts.tmpfs.map((t) => norm(t.path))]);
  for (const s of opts.volumesFrom ?? []) {
    const { ref, readonly } = parseVolumesFrom(s);
    const from = await container(ref);
    for (const v of from.options.volumes ?? []) {
      if (taken.has(norm(v.container))) continue;
      taken.add(norm(v.container));
      // Shared, not owned: `rm -v` of this container leaves C's anonymous volumes to C.
      const { anonymous: _owned, volumeLabels: _l, volumeOptions: _o, ...shared } = v;
      out.push({ ...shared, readonly: readonly ?? v.readonly });
    }
  }
  const declared = Object.keys(imageVolumes ?? {});
  if (declared.length > MAX_IMAGE_VOLUMES)
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `the image declares ${declared.length} volumes; moat makes at most ${MAX_IMAGE_VOLUMES} for one container`,
      {
        hint: 'cover its VOLUME paths with your own mounts (-v NAME:/path or --tmpfs), or use another image',
      },
    );
  for (const p of declared.sort()) {
    if (!p.startsWith('/') || taken.has(norm(p))) continue;
    taken.add(norm(p));
    out.push({ host: '', container: p, readonly: false, volume: '', anonymous: true });
  }
  return out.map((v) => {
    if (v.volume === undefined) return v;
    const name = v.volume === '' ? anonymousVolumeName() : v.volume;
    return { ...v, volume: name, host: store.mountpoint(name) };
  });
}
