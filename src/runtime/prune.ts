/**
 * `moat container prune`: every stopped container — exited, or created and never started —
 * removed as `rm` removes it, chosen by Docker's prune filters (`until`: created before that
 * time; `label`: every one of them holds; `label!`: none of them does). Running and starting
 * containers stay, and so do broken records (`moat rm -f` or `moat system fsck --repair` remove
 * those, after a look). The candidates are found first (what the policy is shown); only those
 * are removed, each refused again if it started meanwhile.
 */
import { isMoatError } from '../errors.js';
import { labelHolds } from '../util/labels.js';
import { dirSize } from './disk-usage.js';
import type { Engine } from './engine.js';
import { active } from './reconcile.js';
import { containerDirs, type ContainerRecord } from './state.js';

export interface ContainerPruneFilter {
  /** Only containers created before this (ms since the epoch). */
  until?: number;
  /** `key` or `key=value`: every one must hold. */
  label?: string[];
  /** `key` or `key=value`: a container for which any holds is kept. */
  labelNot?: string[];
}

/** Pure: is this record a stopped container the filter chooses? */
export function prunable(c: ContainerRecord, f: ContainerPruneFilter): boolean {
  if (c.status !== 'exited' && c.status !== 'created') return false;
  if (f.until !== undefined && !(Date.parse(c.created) < f.until)) return false;
  const labels = c.options?.labels ?? {};
  if (f.label && !f.label.every((v) => labelHolds(labels, v))) return false;
  if (f.labelNot?.some((v) => labelHolds(labels, v))) return false;
  return true;
}

/**
 * The containers a prune would remove, as their records say (a read: no reconciliation, so that
 * the policy is shown them before anything changes), none that is running or starting.
 */
export async function pruneCandidates(e: Engine, f: ContainerPruneFilter): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const c of await e.containers.list()) if (prunable(c, f) && !(await active(e, c))) out.push(c);
  return out;
}

export interface ContainerPruneResult {
  /** IDs of the containers removed. */
  deleted: string[];
  /** Bytes their directories held (their writable layer, log and bundle). */
  reclaimed: number;
}

/** Remove these containers (the candidates the policy saw), each only if still stopped. */
export async function pruneContainers(e: Engine, ids: readonly string[]): Promise<ContainerPruneResult> {
  const out: ContainerPruneResult = { deleted: [], reclaimed: 0 };
  for (const id of ids) {
    let size = 0;
    try {
      const cur = await e.containers.load(id);
      if (!prunable(cur, {}) || (await active(e, cur))) continue; // started meanwhile
      size = await dirSize(containerDirs(e.deps.paths, id).dir);
      await e.remove(id, false);
    } catch (err) {
      // gone meanwhile, or started: not pruned
      if (isMoatError(err) && ['RUNTIME_CONTAINER_NOT_FOUND', 'RUNTIME_INVALID_STATE'].includes(err.code))
        continue;
      throw err;
    }
    out.deleted.push(id);
    out.reclaimed += size;
  }
  return out;
}
