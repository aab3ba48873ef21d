/**
 * `network connect` and `disconnect`, and removing networks. A stopped container only gains or
 * loses its place (its links are made at its next start); a running one is linked or unlinked at
 * once, which needs it to run in the infra user namespace: a container started on a user-defined
 * network does, one started with a namespace of its own (none, slirp4netns, pasta) is refused
 * with what to do (its namespace is its own user namespace's, out of moat's reach).
 */
import { nsenterArgv, type UsernsTools } from '../../userns/exec.js';
import { withLock } from '../../util/lock.js';
import type { MoatPaths } from '../../util/paths.js';
import { processAlive } from '../../util/proc.js';
import { RuntimeError } from '../errors.js';
import type { ContainerRecord, ContainerStore } from '../state.js';
import { joinNetwork, leaveNetwork, networksOf } from './endpoints.js';
import { currentHolder, currentInfra, ensureHolder, ipBinary, stopHolder, stopInfra } from './infra.js';
import { hostIfOf, linkCommands, linkTo, runIp } from './links.js';
import { kindOf } from './plan.js';
import { networksLock, type NetworkRecord, type NetworkStore } from './store.js';

export interface ConnectDeps {
  paths: MoatPaths;
  containers: ContainerStore;
  networks: NetworkStore;
  tools: UsernsTools;
}

const running = (rec: ContainerRecord) =>
  rec.status === 'running' && Boolean(rec.pid) && processAlive(rec.pid);

export async function connectContainer(
  deps: ConnectDeps,
  netRef: string,
  containerRef: string,
  aliases: readonly string[] = [],
): Promise<{ network: NetworkRecord; container: ContainerRecord }> {
  const rec = await deps.containers.resolve(containerRef);
  if (kindOf(rec.options.network ?? 'none') === 'container')
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `container ${rec.name} shares another container's network`,
      {
        hint: 'connect the container whose network it shares',
      },
    );
  const live = running(rec);
  const infra = live ? await currentInfra(deps.paths) : undefined;
  if (live && !(infra && rec.sharedUserns?.pid === infra.pid && rec.sharedUserns.start === infra.start))
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `container ${rec.name} runs in a user namespace of its own (it was started without a user-defined network), so a link cannot be added while it runs`,
      { hint: `stop it, connect it, and start it again (moat stop ${rec.name})` },
    );
  const network = await joinNetwork(deps, rec, netRef, aliases);
  if (!live) return { network, container: rec };
  try {
    await withLock(networksLock(deps.paths), async () => {
      const { holder, infra: cur } = await ensureHolder(deps.paths, deps.tools, network);
      const ip = ipBinary();
      const inInfra = (cmd: string[]) => nsenterArgv(deps.tools, cur.pid, cmd);
      // The next free ethN: names a disconnect freed are taken again.
      const first = networksOf(rec.id, await deps.networks.list()).length - 1;
      for (let k = first; ; k++) {
        const cmds = linkCommands(linkTo(rec.id, holder, network, `eth${k}`), rec.pid!);
        try {
          await runIp(
            inInfra([deps.tools.nsenter, `--net=/proc/${holder.pid}/ns/net`, '--', ip, '-b', '-']),
            cmds.holder,
            `network ${network.name}`,
          );
        } catch (e) {
          if (/exists/i.test((e as Error).message) && k < first + 16) continue;
          throw e;
        }
        await runIp(
          inInfra([deps.tools.nsenter, `--net=/proc/${rec.pid}/ns/net`, '--', ip, '-b', '-']),
          cmds.container,
          `network ${network.name}`,
        );
        return;
      }
    });
  } catch (e) {
    await leaveNetwork(deps, rec.id, network.id).catch(() => {});
    await unlink(deps, network, rec).catch(() => {});
    throw new RuntimeError(
      'RUNTIME_NETWORK_UNAVAILABLE',
      `could not link ${rec.name} to ${network.name}: ${(e as Error).message}`,
    );
  }
  return { network, container: rec };
}

/** Remove a running container's link to `net` (both ends of the veth go). */
async function unlink(deps: ConnectDeps, net: NetworkRecord, rec: ContainerRecord): Promise<void> {
  if (!running(rec)) return;
  const infra = await currentInfra(deps.paths);
  const holder = await currentHolder(deps.paths, net);
  if (!infra || !holder) return;
  await runIp(
    nsenterArgv(deps.tools, infra.pid, [
      deps.tools.nsenter,
      `--net=/proc/${holder.pid}/ns/net`,
      '--',
      ipBinary(),
      '-b',
      '-',
    ]),
    [`link del ${hostIfOf(rec.id)}`],
    `network ${net.name}`,
  );
}

export async function disconnectContainer(
  deps: ConnectDeps,
  netRef: string,
  containerRef: string,
  force = false,
): Promise<{ network: NetworkRecord; container: ContainerRecord }> {
  const network = await deps.networks.get(netRef);
  let rec: ContainerRecord | undefined;
  try {
    rec = await deps.containers.resolve(containerRef);
  } catch (e) {
    // -f: a container gone without leaving (a damaged removal) is taken off by its ID.
    const stale = force && network.endpoints[containerRef] ? containerRef : undefined;
    if (!stale) throw e;
    await leaveNetwork(deps, stale, network.id);
    return { network, container: { id: stale, name: stale } as ContainerRecord };
  }
  if (!(await leaveNetwork(deps, rec.id, network.id)))
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `container ${rec.name} is not on network ${network.name}`,
      {
        hint: 'moat network inspect NAME lists its containers',
      },
    );
  await unlink(deps, network, rec).catch(() => {
    /* its namespace went meanwhile */
  });
  return { network, container: rec };
}

/** Remove a network no container is on (a stopped one counts: it would find it gone). */
export async function removeNetwork(deps: ConnectDeps, ref: string): Promise<NetworkRecord> {
  return withLock(networksLock(deps.paths), async () => {
    const net = await deps.networks.get(ref);
    const ids = Object.keys(net.endpoints);
    if (ids.length) {
      const recs = await deps.containers.list();
      const names = ids.map((id) => recs.find((r) => r.id === id)?.name ?? id.slice(0, 12));
      throw new RuntimeError(
        'RUNTIME_NETWORK_IN_USE',
        `network ${net.name} has containers on it: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`,
        { hint: `disconnect them (moat network disconnect ${net.name} NAME) or remove them first` },
      );
    }
    await deps.networks.remove(net.id);
    await stopHolder(deps.paths, net.id);
    await stopInfraIfIdle(deps);
    return net;
  });
}

/** No network left and no running container in its namespace: the infra process goes too. */
async function stopInfraIfIdle(deps: ConnectDeps): Promise<void> {
  if ((await deps.networks.list()).length) return;
  const infra = await currentInfra(deps.paths);
  if (!infra) return;
  const users = (await deps.containers.list()).filter(
    (r) => running(r) && r.sharedUserns?.pid === infra.pid && r.sharedUserns.start === infra.start,
  );
  if (!users.length) await stopInfra(deps.paths);
}
