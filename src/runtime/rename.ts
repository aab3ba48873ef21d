/**
 * `moat rename OLD NEW`: a container's new name, by create's rules — docker's characters, and
 * unique: checked against every container under the names lock that create holds, so a rename
 * and a create (or two renames) cannot both take a name. A running container keeps running; its
 * hostname is what it was (Docker's rename does not change it either).
 */
import { promises as fsp } from 'node:fs';
import { withLock } from '../util/lock.js';
import { namesLock } from './create.js';
import { RuntimeError } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import { CONTAINER_NAME } from './plan.js';
import type { ContainerRecord } from './state.js';

export async function renameContainer(e: Lifecycle, ref: string, name: string): Promise<ContainerRecord> {
  if (!CONTAINER_NAME.test(name))
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid container name "${name.slice(0, 140)}"`, {
      hint: 'use letters, digits, _ . - (starting with a letter or digit)',
    });
  const found = await e.containers.resolve(ref);
  const was = found.name || found.id.slice(0, 12);
  if (found.status === 'broken')
    throw new RuntimeError('RUNTIME_CORRUPT_STATE', `container ${was} has a broken record`, {
      hint: `remove it with moat rm -f ${was}`,
    });
  if (found.name === name)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `container ${was} is already named ${name}`, {
      hint: 'give a different name',
    });
  return withLock(namesLock(e.deps.paths), async () => {
    const other = (await e.containers.list()).find((c) => c.name === name && c.id !== found.id);
    if (other)
      throw new RuntimeError(
        'RUNTIME_NAME_IN_USE',
        `the name "${name}" is already in use by container ${other.id.slice(0, 12)}`,
        {
          hint: `remove it with moat rm ${name}, or choose another name`,
        },
      );
    const renamed = await e.containers.update(found.id, async (rec) => {
      rec.name = name;
      await e.containers.save(rec);
      return rec;
    });
    // Peers on its networks find it by the new name (their /etc/hosts).
    const { NetworkStore } = await import('./network/store.js');
    const networks = new NetworkStore(e.deps.paths);
    if ((await fsp.readdir(networks.dir).catch(() => [])).length) {
      const { refreshPeersOf } = await import('./network/endpoints.js');
      await refreshPeersOf({ paths: e.deps.paths, containers: e.containers, networks }, renamed.id);
    }
    return renamed;
  });
}
