/**
 * The supervisor's writes to the container's record: each step's change is saved unless the
 * container was removed meanwhile (rm -f), which is then told rather than thrown.
 */
import { isMoatError } from '../../errors.js';
import type { ContainerRecord, ContainerStore } from '../state.js';

/** Save a change to the record, unless the container was removed meanwhile (rm -f). */
export async function record(
  deps: { store: ContainerStore },
  id: string,
  fn: (r: ContainerRecord) => void,
  o: { durable?: boolean } = {},
): Promise<boolean> {
  try {
    await deps.store.update(id, async (r) => {
      fn(r);
      await deps.store.save(r, o);
    });
    return true;
  } catch (e) {
    if (isMoatError(e) && e.code === 'RUNTIME_CONTAINER_NOT_FOUND') return false;
    throw e;
  }
}
