/**
 * Containers on user-defined networks: joining one (at create, or `network connect`), leaving
 * (`disconnect`, removal), and the names peers find each other by. Name resolution is the
 * container's own /etc/hosts (docker's embedded DNS server is not there): every member of a
 * network has a line for each other member (`IP name aliases short-id`), rewritten in place
 * whenever a network's members change, so a running container sees it at once (its /etc/hosts is
 * a bind mount of that file). Everything happens under networksLock.
 */
import { constants as C, promises as fsp } from 'node:fs';
import { withLock } from '../../util/lock.js';
import type { MoatPaths } from '../../util/paths.js';
import { RuntimeError } from '../errors.js';
import { hostnameOf } from '../spec/namespaces.js';
import { containerDirs, type ContainerRecord, type ContainerStore } from '../state.js';
import { allocate, parseSubnet } from './ipam.js';
import { hostsFile } from './plan.js';
import { ALIAS_NAME, networksLock, type NetworkRecord, type NetworkStore } from './store.js';

export interface EndpointDeps {
  paths: MoatPaths;
  containers: ContainerStore;
  networks: NetworkStore;
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,252})$/;

/** The /etc/hosts lines a container gets from its networks (pure). */
export function networkHostsLines(
  id: string,
  nets: readonly NetworkRecord[],
  nameOf: (id: string) => string | undefined,
): string {
  const lines: string[] = [];
  // A name on one line only: the first member holding it keeps it (a rename cannot take a peer's).
  const given = new Set<string>();
  for (const n of nets) {
    if (!n.endpoints[id]) continue;
    for (const [peer, ep] of Object.entries(n.endpoints)) {
      const names = [nameOf(peer), ...ep.aliases, peer.slice(0, 12)].filter(
        (x): x is string => typeof x === 'string' && HOSTNAME.test(x) && !given.has(x),
      );
      names.forEach((x) => given.add(x));
      if (names.length) lines.push(`${ep.ip}\t${names.join(' ')}\n`);
    }
  }
  return lines.join('');
}

/** The networks `id` is on. */
export function networksOf(id: string, nets: readonly NetworkRecord[]): NetworkRecord[] {
  return nets.filter((n) => n.endpoints[id]);
}

/** Rewrite the /etc/hosts of every container on `touched` (in place: the same file stays mounted). */
async function refresh(
  deps: EndpointDeps,
  touched: readonly NetworkRecord[],
  also: string[] = [],
): Promise<void> {
  const all = await deps.networks.list();
  const recs = new Map((await deps.containers.list()).map((r) => [r.id, r]));
  const ids = new Set([...also, ...touched.flatMap((n) => Object.keys(n.endpoints))]);
  const nameOf = (id: string) => recs.get(id)?.name;
  for (const id of ids) {
    const rec = recs.get(id);
    if (!rec?.options) continue;
    const text =
      hostsFile(hostnameOf(rec.options, rec.id), rec.options.addHosts ?? []) +
      networkHostsLines(id, all, nameOf);
    await writeInPlace(containerDirs(deps.paths, id).hosts, text).catch(() => {
      /* a container being removed: its file is going */
    });
  }
}

/** Truncate and write, never following a link (the file is container root's, its directory moat's). */
async function writeInPlace(file: string, text: string): Promise<void> {
  const fh = await fsp.open(file, C.O_WRONLY | C.O_TRUNC | C.O_NOFOLLOW);
  try {
    if (!(await fh.stat()).isFile()) return;
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

export function checkAliases(aliases: readonly string[]): void {
  for (const a of aliases)
    if (!ALIAS_NAME.test(a))
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid network alias "${a.slice(0, 80)}"`, {
        hint: 'an alias is a host name: letters, digits, _ . - (up to 63, starting with a letter or digit)',
      });
}

/** Put container `rec` on network `ref` (an address of its own there). */
export async function joinNetwork(
  deps: EndpointDeps,
  rec: Pick<ContainerRecord, 'id' | 'name'>,
  ref: string,
  aliases: readonly string[] = [],
): Promise<NetworkRecord> {
  checkAliases(aliases);
  return withLock(networksLock(deps.paths), async () => {
    const net = await deps.networks.get(ref);
    if (net.endpoints[rec.id])
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `container ${rec.name} is already on network ${net.name}`,
      );
    // A name is one member's: a newcomer answering to a peer's name or alias would take its
    // traffic (the first /etc/hosts line wins), so it is refused.
    const recs = new Map((await deps.containers.list()).map((r) => [r.id, r.name]));
    const taken = new Map<string, string>();
    for (const [id, ep] of Object.entries(net.endpoints))
      for (const n of [recs.get(id), ...ep.aliases]) if (n) taken.set(n, recs.get(id) ?? id.slice(0, 12));
    const clash = [rec.name, ...aliases].find((n) => taken.has(n));
    if (clash !== undefined)
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `the name ${clash} is already used on network ${net.name} (by container ${taken.get(clash)})`,
        { hint: 'choose another --network-alias (or container name)' },
      );
    const used = new Set(Object.values(net.endpoints).map((e) => e.ip));
    const ip = allocate(parseSubnet(net.subnet)!, used);
    if (!ip)
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `network ${net.name} (${net.subnet}) has no free address left`,
        {
          hint: 'remove containers from it, or make a network with a larger --subnet',
        },
      );
    net.endpoints[rec.id] = { ip, aliases: [...new Set(aliases)] };
    await deps.networks.save(net);
    await refresh(deps, [net]);
    return net;
  });
}

/** Take container `id` off network `ref`; false when it was not on it. */
export async function leaveNetwork(deps: EndpointDeps, id: string, ref: string): Promise<boolean> {
  return withLock(networksLock(deps.paths), async () => {
    const net = await deps.networks.get(ref);
    if (!net.endpoints[id]) return false;
    delete net.endpoints[id];
    await deps.networks.save(net);
    await refresh(deps, [net], [id]);
    return true;
  });
}

/** Take container `id` off every network (its removal). */
export async function leaveAllNetworks(deps: EndpointDeps, id: string): Promise<void> {
  const mine = networksOf(id, await deps.networks.list());
  if (!mine.length) return;
  await withLock(networksLock(deps.paths), async () => {
    const left: NetworkRecord[] = [];
    for (const n of networksOf(id, await deps.networks.list())) {
      delete n.endpoints[id];
      await deps.networks.save(n);
      left.push(n);
    }
    await refresh(deps, left);
  });
}

/** Rewrite the /etc/hosts of everyone on `id`'s networks (it was renamed). */
export async function refreshPeersOf(deps: EndpointDeps, id: string): Promise<void> {
  await withLock(networksLock(deps.paths), async () =>
    refresh(deps, networksOf(id, await deps.networks.list())),
  );
}
