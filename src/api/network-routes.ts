/**
 * Networks: the three built-in modes a run chooses with `--network` (`none`, `slirp4netns`,
 * `pasta`), with whether this host can give each, and user-defined networks (`moat network
 * create`, a bridge in a namespace the user owns: runtime/network/infra.ts) with their containers.
 * Create, inspect, remove, prune, connect and disconnect; docker's `/networks` stands on these.
 * The policy sees the network a request names (`facts.network`), and for connect and disconnect
 * the container too (`facts.container`, `facts.spec`).
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../runtime/engine.js';
import type { NetworkRecord } from '../runtime/network/store.js';
import { labelHolds } from '../util/labels.js';
import { containerFacts } from './container-facts.js';
import { defineRoute, type AnyRoute, type RouteContext } from './router.js';
import * as S from './schemas.js';

export interface NetworkEndpointView {
  Id: string;
  Name: string;
  IPv4Address: string;
  Aliases: string[];
  Running: boolean;
}

export interface NetworkView {
  Name: string;
  Id: string;
  Driver: string;
  Scope: 'local';
  Internal: boolean;
  /** A built-in mode (none, slirp4netns, pasta), not a network made with create. */
  BuiltIn: boolean;
  /** moat's own: whether a run can use it on this host now, and if not why. */
  Available: boolean;
  Reason?: string;
  /** Running containers on it, by name. */
  Containers: string[];
  Created?: string;
  Subnet?: string;
  Gateway?: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  /** User-defined networks: every container on it, running or not. */
  Endpoints: NetworkEndpointView[];
}

const MODES = [
  { name: 'none', driver: 'null' },
  { name: 'slirp4netns', driver: 'slirp4netns' },
  { name: 'pasta', driver: 'pasta' },
] as const;

async function views(engine: Engine): Promise<NetworkView[]> {
  const { networkBinary, networkOf } = await import('../runtime/network/plan.js');
  const { NetworkStore } = await import('../runtime/network/store.js');
  const all = await engine.list(false);
  const running = all.filter((c) => c.status === 'running');
  const builtIn: NetworkView[] = MODES.map((m) => {
    let reason: string | undefined;
    if (m.name !== 'none')
      try {
        networkBinary(m.name);
      } catch (e) {
        reason = (e as Error).message;
      }
    return {
      Name: m.name,
      Id: createHash('sha256').update(`moat-network:${m.name}`).digest('hex'),
      Driver: m.driver,
      Scope: 'local',
      Internal: m.name === 'none',
      BuiltIn: true,
      Available: reason === undefined,
      ...(reason ? { Reason: reason } : {}),
      Containers: running.filter((c) => networkOf(c.options ?? {}) === m.name).map((c) => c.name),
      Labels: {},
      Options: {},
      Endpoints: [],
    };
  });
  const byId = new Map(all.map((c) => [c.id, c]));
  const user = (await new NetworkStore(engine.deps.paths).list()).map((n) => userView(n, byId));
  return [...builtIn, ...user];
}

function userView(n: NetworkRecord, byId: Map<string, { name: string; status: string }>): NetworkView {
  const endpoints = Object.entries(n.endpoints).map(([id, e]) => ({
    Id: id,
    Name: byId.get(id)?.name ?? id.slice(0, 12),
    IPv4Address: `${e.ip}/${n.subnet.split('/')[1]}`,
    Aliases: e.aliases,
    Running: byId.get(id)?.status === 'running',
  }));
  return {
    Name: n.name,
    Id: n.id,
    Driver: n.driver,
    Scope: 'local',
    Internal: n.internal,
    BuiltIn: false,
    Available: true,
    Containers: endpoints.filter((e) => e.Running).map((e) => e.Name),
    Created: n.created,
    Subnet: n.subnet,
    Gateway: n.gateway,
    Labels: n.labels,
    Options: n.options,
    Endpoints: endpoints,
  };
}

/** The network `ref` names: by name, else by an ID prefix of 12 or more digits (built-ins too). */
async function findView(engine: Engine, ref: string): Promise<NetworkView | undefined> {
  const all = await views(engine);
  return (
    all.find((v) => v.Name === ref) ??
    (/^[0-9a-f]{1,64}$/.test(ref) ? onlyOne(all.filter((v) => v.Id.startsWith(ref))) : undefined)
  );
}

const onlyOne = <T>(xs: T[]): T | undefined => (xs.length === 1 ? xs[0] : undefined);

async function notFound(ref: string): Promise<never> {
  const { RuntimeError } = await import('../runtime/errors.js');
  throw new RuntimeError('RUNTIME_NETWORK_NOT_FOUND', `no such network: ${ref.slice(0, 100)}`);
}

/** A built-in mode cannot be removed, connected to or disconnected from. */
async function builtInRefused(v: NetworkView, verb: string): Promise<never> {
  const { RuntimeError } = await import('../runtime/errors.js');
  throw new RuntimeError(
    'RUNTIME_INVALID_OPTION',
    `${v.Name} is a built-in network mode: it cannot be ${verb}`,
    {
      hint:
        verb === 'removed'
          ? 'only networks made with moat network create can be removed'
          : `a container's built-in mode is chosen when it is created (--network ${v.Name})`,
    },
  );
}

function deps(engine: Engine) {
  return import('../runtime/network/store.js').then(({ NetworkStore }) => ({
    paths: engine.deps.paths,
    containers: engine.containers,
    networks: new NetworkStore(engine.deps.paths),
    tools: engine.tools(),
  }));
}

const prunable = (v: NetworkView, b: { label?: readonly string[]; labelNot?: readonly string[] }) =>
  !v.BuiltIn &&
  v.Endpoints.length === 0 &&
  (b.label ?? []).every((l) => labelHolds(v.Labels, l)) &&
  !(b.labelNot ?? []).some((l) => labelHolds(v.Labels, l));

export function networkRoutes(engine: Engine): AnyRoute[] {
  // Facts never throw: a store that cannot be read is the handler's error to report.
  const networkFacts = async (ref: string) => {
    const v = await findView(engine, ref).catch(() => undefined);
    return v ? { network: v } : {};
  };
  /** connect/disconnect: the network and the container (the policy decides on both). */
  const connectFacts = async (ctx: RouteContext<{ container: string }>) => {
    ctx.params.id = ctx.body.container;
    return { ...(await networkFacts(ctx.params.name)), ...(await containerFacts(engine, ctx)) };
  };
  const userNetwork = async (ref: string, verb: string): Promise<NetworkView> => {
    const v = (await findView(engine, ref)) ?? (await notFound(ref));
    if (v.BuiltIn) await builtInRefused(v, verb);
    return v;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/networks',
      action: 'network.list',
      body: S.empty,
      handler: async () => views(engine),
    }),
    defineRoute({
      method: 'GET',
      path: '/networks/:name',
      action: 'network.inspect',
      body: S.empty,
      facts: async (ctx) => networkFacts(ctx.params.name),
      handler: async (ctx) => (await findView(engine, ctx.params.name)) ?? notFound(ctx.params.name),
    }),
    defineRoute({
      method: 'POST',
      path: '/networks/create',
      action: 'network.create',
      body: S.networkCreateBody,
      handler: async (ctx) => {
        const { withLock } = await import('../util/lock.js');
        const { networksLock } = await import('../runtime/network/store.js');
        const d = await deps(engine);
        const { name, ...o } = ctx.body;
        const rec = await withLock(networksLock(engine.deps.paths), () => d.networks.create(name, o));
        return userView(rec, new Map());
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/networks/:name',
      action: 'network.remove',
      body: S.empty,
      facts: async (ctx) => networkFacts(ctx.params.name),
      handler: async (ctx) => {
        const v = await userNetwork(ctx.params.name, 'removed');
        const { removeNetwork } = await import('../runtime/network/connect.js');
        const rec = await removeNetwork(await deps(engine), v.Id);
        return { name: rec.name, id: rec.id };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/networks/prune',
      action: 'network.prune',
      body: S.networkPruneBody,
      facts: async (ctx) => ({
        networks: (await views(engine).catch(() => [])).filter((v) => prunable(v, ctx.body)),
      }),
      handler: async (ctx) => {
        const { removeNetwork } = await import('../runtime/network/connect.js');
        const d = await deps(engine);
        // Only what the policy was shown; one that gained a container since is kept.
        const removed: string[] = [];
        for (const v of (ctx.facts.networks ?? []) as NetworkView[]) {
          const ok = await removeNetwork(d, v.Id).then(
            () => true,
            () => false,
          );
          if (ok) removed.push(v.Name);
        }
        return { removed };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/networks/:name/connect',
      action: 'network.connect',
      body: S.networkConnectBody,
      facts: connectFacts,
      handler: async (ctx) => {
        const v = await userNetwork(ctx.params.name, 'connected to');
        const { connectContainer } = await import('../runtime/network/connect.js');
        const r = await connectContainer(
          await deps(engine),
          v.Id,
          ctx.body.container,
          ctx.body.aliases ?? [],
        );
        return {
          network: r.network.name,
          container: r.container.name,
          ip: r.network.endpoints[r.container.id]?.ip,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/networks/:name/disconnect',
      action: 'network.disconnect',
      body: S.networkConnectBody,
      facts: connectFacts,
      handler: async (ctx) => {
        const v = await userNetwork(ctx.params.name, 'disconnected from');
        const { disconnectContainer } = await import('../runtime/network/connect.js');
        const r = await disconnectContainer(
          await deps(engine),
          v.Id,
          ctx.body.container,
          Boolean(ctx.body.force),
        );
        return { network: r.network.name, container: r.container.name };
      },
    }),
  ];
}
