/**
 * Networks as moat has them: the three built-in modes a run chooses with `--network` (`none`,
 * `slirp4netns`, `pasta`), listed and inspected (`moat network ls|inspect`, docker's `GET
 * /networks`), with whether this host can give each and the running containers on it.
 * User-defined networks are not offered yet: creating one is refused with a reason (CLI).
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../runtime/engine.js';
import { defineRoute, type AnyRoute } from './router.js';
import * as S from './schemas.js';

export interface NetworkView {
  Name: string;
  Id: string;
  Driver: string;
  Scope: 'local';
  Internal: boolean;
  /** moat's own: whether a run can use it on this host now, and if not why. */
  Available: boolean;
  Reason?: string;
  /** Running containers on it, by name. */
  Containers: string[];
}

const MODES = [
  { name: 'none', driver: 'null' },
  { name: 'slirp4netns', driver: 'slirp4netns' },
  { name: 'pasta', driver: 'pasta' },
] as const;

async function views(engine: Engine): Promise<NetworkView[]> {
  const { networkBinary, networkOf } = await import('../runtime/network/plan.js');
  const running = (await engine.list(false)).filter((c) => c.status === 'running');
  return MODES.map((m) => {
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
      Available: reason === undefined,
      ...(reason ? { Reason: reason } : {}),
      Containers: running.filter((c) => networkOf(c.options ?? {}) === m.name).map((c) => c.name),
    };
  });
}

export function networkRoutes(engine: Engine): AnyRoute[] {
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
      handler: async (ctx) => {
        const all = await views(engine);
        const n = all.find(
          (v) =>
            v.Name === ctx.params.name || (ctx.params.name.length >= 12 && v.Id.startsWith(ctx.params.name)),
        );
        if (!n) {
          const { RuntimeError } = await import('../runtime/errors.js');
          throw new RuntimeError(
            'RUNTIME_NETWORK_NOT_FOUND',
            `no such network: ${ctx.params.name.slice(0, 100)}`,
            {
              hint: 'moat has the networks none, slirp4netns and pasta (moat network ls); user-defined networks are not offered yet',
            },
          );
        }
        return n;
      },
    }),
  ];
}
