/**
 * File owners between the host and a container. Inside moat's user namespace (the worker's usual
 * place) the kernel shows and takes container IDs, and this is the identity. Root's worker runs
 * outside it (moat's code under /root is not readable from inside) and sees host IDs: they are
 * translated through the container's mapping, both ways.
 */
import { toHost, type IdMapping } from '../../userns/idmap.js';

export interface IdTranslation {
  uidMap: IdMapping[];
  gidMap: IdMapping[];
}

/** The container ID a host ID is, or undefined when the mapping does not cover it. */
export function fromHost(map: IdMapping[], id: number): number | undefined {
  for (const m of map) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return undefined;
}

/** The overflow ID the kernel shows for an unmapped owner. */
export const NOBODY = 65534;

export class Ids {
  /** `t`: translate (root's worker); none: the kernel already shows container IDs. */
  constructor(private readonly t?: IdTranslation) {}

  /** Owner as the container sees it, from what lstat returned here. */
  toContainer(uid: number, gid: number): { uid: number; gid: number } {
    if (!this.t) return { uid, gid };
    return { uid: fromHost(this.t.uidMap, uid) ?? NOBODY, gid: fromHost(this.t.gidMap, gid) ?? NOBODY };
  }

  /** What to give chown here for a container owner; undefined when the mapping does not cover it. */
  toLocal(uid: number, gid: number): { uid: number; gid: number } | undefined {
    if (!this.t) return { uid, gid };
    const u = toHost(this.t.uidMap, uid);
    const g = toHost(this.t.gidMap, gid);
    return u === undefined || g === undefined ? undefined : { uid: u, gid: g };
  }
}
