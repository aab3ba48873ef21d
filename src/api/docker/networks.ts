/**
 * Docker's `/networks` (Engine API v1.41) on moat's network routes: `docker network ls`,
 * `inspect`, `create`, `rm`, `prune`, `connect` and `disconnect`. The built-in modes (none,
 * slirp4netns, pasta) and the networks made with create (a bridge in a namespace the user owns:
 * runtime/network/infra.ts), in Docker's shape: IPAM.Config [{Subnet, Gateway}], Internal,
 * Labels, Options, Created, and Containers by ID with each one's address. What moat has no
 * counterpart for (IPv6, an IPAM driver, --ip-range, --aux-address, swarm's --attachable and
 * --ingress, config networks; --ip, --link and --driver-opt at connect) is refused, never dropped.
 */
import { createHash } from 'node:crypto';
import { MoatError } from '../../errors.js';
import { gatewayOf, parseSubnet } from '../../runtime/network/ipam.js';
import { ApiError } from '../errors.js';
import type { NetworkView } from '../network-routes.js';
import { readJson, sendJson } from '../http.js';
import { boolFilter, checkKeys, matchField, matchLabels, parseFilters } from './filters.js';
import { enc, refuse, type Handler } from './handler.js';
import { emptyField } from './unsupported.js';

const ZERO = '0001-01-01T00:00:00Z';

/** An endpoint's ID as Docker shows it: stable for a container on a network. */
export const endpointId = (networkId: string, containerId: string): string =>
  createHash('sha256').update(`moat-endpoint:${networkId}:${containerId}`).digest('hex');

/** Docker's network object (moat's own fields left out). */
export function dockerNetwork(n: NetworkView): Record<string, unknown> {
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created ?? ZERO,
    Scope: n.Scope,
    Driver: n.Driver,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: n.Subnet ? [{ Subnet: n.Subnet, Gateway: n.Gateway ?? '' }] : [],
    },
    Internal: n.Internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    // Every container on it, running or not: its place lasts from its create to its removal.
    Containers: Object.fromEntries(
      n.Endpoints.map((e) => [
        e.Id,
        {
          Name: e.Name,
          EndpointID: endpointId(n.Id, e.Id),
          MacAddress: '',
          IPv4Address: e.IPv4Address,
          IPv6Address: '',
        },
      ]),
    ),
    Options: n.Options,
    Labels: n.Labels,
  };
}

/** moat's "no such network" in Docker's words (`network NAME not found`), still a 404. */
async function dockerErrors<T>(ref: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof MoatError && e.code === 'RUNTIME_NETWORK_NOT_FOUND')
      throw new MoatError(e.code, `network ${ref.slice(0, 100)} not found`, {
        hint: 'docker network ls lists the networks; docker network create NAME makes one',
      });
    if (e instanceof MoatError && e.code === 'RUNTIME_NAME_IN_USE' && /network named/.test(e.message))
      throw new MoatError(e.code, `network with name ${ref.slice(0, 100)} already exists`, {
        hint: `remove it with docker network rm ${ref.slice(0, 100)}, or choose another name`,
      });
    throw e;
  }
}

const FILTERS = ['name', 'id', 'driver', 'label', 'scope', 'type', 'dangling'];

export const listNetworks: Handler = async ({ call, res, url }) => {
  const f = parseFilters(url.searchParams.get('filters'));
  checkKeys(f, FILTERS);
  for (const t of f.get('type') ?? [])
    if (t !== 'custom' && t !== 'builtin')
      throw new ApiError('API_INVALID_REQUEST', `invalid filter: 'type' must be builtin or custom, not ${t}`);
  const dangling = boolFilter(f, 'dangling', FILTERS);
  const all = (await call('GET', '/networks')) as NetworkView[];
  sendJson(
    res,
    200,
    all
      .filter(
        (n) =>
          matchField(f, 'name', n.Name) &&
          matchField(f, 'id', n.Id) &&
          matchField(f, 'driver', n.Driver) &&
          matchLabels(f, n.Labels) &&
          (f.get('scope')?.includes(n.Scope) ?? true) &&
          (f.get('type')?.includes(n.BuiltIn ? 'builtin' : 'custom') ?? true) &&
          // Docker: dangling networks are user-defined ones no container is on.
          (dangling === undefined || dangling === (!n.BuiltIn && n.Endpoints.length === 0)),
      )
      .map(dockerNetwork),
  );
};

export const inspectNetwork: Handler = async ({ call, m, res }) => {
  const n = (await dockerErrors(m[1], call('GET', `/networks/${enc(m[1])}`))) as NetworkView;
  sendJson(res, 200, dockerNetwork(n));
};

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

const stringMap = (v: unknown): Record<string, string> | undefined => {
  const o = obj(v);
  return Object.keys(o).length
    ? Object.fromEntries(Object.entries(o).map(([k, x]) => [k, String(x)]))
    : undefined;
};

/** Docker's create body → moat's, refusing what moat's bridge networks cannot be. */
export function networkCreateFromDocker(body: unknown): Record<string, unknown> {
  const b = obj(body);
  if (typeof b.Name !== 'string' || b.Name === '')
    throw new ApiError('API_INVALID_REQUEST', 'Name is required', { hint: 'docker network create NAME' });
  if (b.EnableIPv6 === true) refuse('--ipv6', "moat's networks are IPv4 only");
  if (b.Attachable === true) refuse('--attachable', 'a swarm option: any container may join a moat network');
  if (b.Ingress === true) refuse('--ingress', 'a swarm option');
  if (b.ConfigOnly === true) refuse('--config-only', 'config networks are not offered');
  if (!emptyField(b.ConfigFrom)) refuse('--config-from', 'config networks are not offered');
  if (typeof b.Scope === 'string' && b.Scope !== '' && b.Scope !== 'local')
    refuse(`--scope ${b.Scope.slice(0, 20)}`, "moat's networks are local");
  const ipam = obj(b.IPAM);
  if (typeof ipam.Driver === 'string' && ipam.Driver !== '' && ipam.Driver !== 'default')
    refuse(`--ipam-driver ${ipam.Driver.slice(0, 40)}`, 'moat gives addresses itself (the default driver)');
  if (!emptyField(ipam.Options)) refuse('--ipam-opt', 'moat gives addresses itself (the default driver)');
  const configs = Array.isArray(ipam.Config) ? ipam.Config.map(obj) : [];
  if (configs.length > 1) refuse('a second --subnet', 'a moat network has one IPv4 subnet');
  const c = configs[0] ?? {};
  if (!emptyField(c.IPRange)) refuse('--ip-range', 'containers get addresses from the whole subnet');
  if (!emptyField(c.AuxiliaryAddresses)) refuse('--aux-address', 'not offered');
  const subnet = typeof c.Subnet === 'string' && c.Subnet !== '' ? c.Subnet : undefined;
  if (typeof c.Gateway === 'string' && c.Gateway !== '') {
    // The gateway is the subnet's first address; naming that one is accepted.
    const s = subnet === undefined ? undefined : parseSubnet(subnet);
    if (!s || gatewayOf(s) !== c.Gateway)
      refuse(`--gateway ${c.Gateway.slice(0, 40)}`, "the gateway is the subnet's first address");
  }
  const labels = stringMap(b.Labels);
  const options = stringMap(b.Options);
  return {
    name: b.Name,
    ...(typeof b.Driver === 'string' && b.Driver !== '' ? { driver: b.Driver } : {}),
    ...(subnet !== undefined ? { subnet } : {}),
    ...(b.Internal === true ? { internal: true } : {}),
    ...(labels ? { labels } : {}),
    ...(options ? { options } : {}),
  };
}

export const createNetwork: Handler = async ({ call, req, res }) => {
  const body = networkCreateFromDocker(await readJson(req));
  const n = (await dockerErrors(body.name as string, call('POST', '/networks/create', body))) as NetworkView;
  sendJson(res, 201, { Id: n.Id, Warning: '' });
};

export const removeNetwork: Handler = async ({ call, m, res }) => {
  await dockerErrors(m[1], call('DELETE', `/networks/${enc(m[1])}`));
  res.writeHead(204).end();
};

const PRUNE_FILTERS = ['label', 'label!'];

export const pruneNetworks: Handler = async ({ call, res, url }) => {
  const f = parseFilters(url.searchParams.get('filters'));
  if (f.has('until')) refuse('--filter until', 'moat prunes by label only (label=K[=V], label!=K[=V])');
  checkKeys(f, PRUNE_FILTERS);
  const r = (await call('POST', '/networks/prune', {
    ...(f.get('label')?.length ? { label: f.get('label') } : {}),
    ...(f.get('label!')?.length ? { labelNot: f.get('label!') } : {}),
  })) as { removed: string[] };
  sendJson(res, 200, { NetworksDeleted: r.removed.length ? r.removed : null });
};

/** What an endpoint's fields are typed as, and why moat refuses them. */
const ENDPOINT_FIELDS: Record<string, [string, string]> = {
  IPAMConfig: ['--ip/--ip6', 'moat gives each container the next free address of the subnet'],
  MacAddress: ['--mac-address', "moat chooses the addresses of a container's links"],
  Links: ['--link', 'containers on a network reach each other by name and alias already'],
  DriverOpts: ['--driver-opt', 'not offered'],
  GwPriority: ['--gw-priority', 'not offered'],
};

/**
 * An endpoint's settings (docker run's NetworkingConfig, connect's EndpointConfig): its Aliases
 * (--network-alias, connect --alias) are taken; any other field that is set is refused.
 */
export function endpointAliases(ep: unknown): string[] {
  for (const [k, v] of Object.entries(obj(ep))) {
    if (k === 'Aliases' || emptyField(v)) continue;
    const [flag, why] = ENDPOINT_FIELDS[k] ?? [`EndpointConfig.${k.slice(0, 40)}`, 'moat does not offer it'];
    refuse(flag, why);
  }
  const a = obj(ep).Aliases;
  return Array.isArray(a) ? a.map(String) : [];
}

function container(b: Record<string, unknown>): string {
  if (typeof b.Container !== 'string' || b.Container === '')
    throw new ApiError('API_INVALID_REQUEST', 'Container is required');
  return b.Container;
}

export const connectNetwork: Handler = async ({ call, m, req, res }) => {
  const b = obj(await readJson(req));
  const aliases = endpointAliases(b.EndpointConfig);
  await dockerErrors(
    m[1],
    call('POST', `/networks/${enc(m[1])}/connect`, {
      container: container(b),
      ...(aliases.length ? { aliases } : {}),
    }),
  );
  res.writeHead(200).end();
};

export const disconnectNetwork: Handler = async ({ call, m, req, res }) => {
  const b = obj(await readJson(req));
  await dockerErrors(
    m[1],
    call('POST', `/networks/${enc(m[1])}/disconnect`, {
      container: container(b),
      ...(b.Force === true ? { force: true } : {}),
    }),
  );
  res.writeHead(200).end();
};
