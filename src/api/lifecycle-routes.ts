/**
 * The rest of a container's lifecycle and its observation (issue 15): top, pause and unpause,
 * rename, update, restart, prune and disk usage. Each route acts on the container the policy
 * decided on with its record and spec as facts (container-facts.ts), as stop and rm do; restart
 * runs the container again and so gets start's facts; update adds the limits it would set.
 */
import type { Engine } from '../runtime/engine.js';
import { defineRoute, type AnyRoute } from './router.js';
import * as S from './schemas.js';
import { containerFacts, decidedContainer } from './container-facts.js';

export function lifecycleRoutes(engine: Engine): AnyRoute[] {
  return [
    defineRoute({
      // The container's processes as ps shows them (Docker's {Titles, Processes}).
      method: 'GET',
      path: '/containers/:id/top',
      action: 'container.top',
      body: S.topBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const { topContainer } = await import('../runtime/top/index.js');
        return topContainer(engine, decidedContainer(ctx), ctx.body.psArgs);
      },
    }),
    defineRoute({
      // Freeze every process of the container (its freezer cgroup: runtime/freezer.ts).
      method: 'POST',
      path: '/containers/:id/pause',
      action: 'container.pause',
      body: S.empty,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const { pauseContainer } = await import('../runtime/freezer.js');
        const r = await pauseContainer(engine, decidedContainer(ctx));
        return { id: r.id, name: r.name };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/unpause',
      action: 'container.unpause',
      body: S.empty,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const { unpauseContainer } = await import('../runtime/freezer.js');
        const r = await unpauseContainer(engine, decidedContainer(ctx));
        return { id: r.id, name: r.name };
      },
    }),
    defineRoute({
      // A new name, unique under the names lock (runtime/rename.ts); the policy sees it in the body.
      method: 'POST',
      path: '/containers/:id/rename',
      action: 'container.rename',
      body: S.renameBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const { renameContainer } = await import('../runtime/rename.js');
        const r = await renameContainer(engine, decidedContainer(ctx), ctx.body.name);
        return { id: r.id, name: r.name };
      },
    }),
  ];
}
