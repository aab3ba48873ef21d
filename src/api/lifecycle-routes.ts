/**
 * The rest of a container's lifecycle and its observation (issue 15): top, pause and unpause,
 * rename, update, restart, prune and disk usage. Each route acts on the container the policy
 * decided on with its record and spec as facts (container-facts.ts), as stop and rm do; restart
 * runs the container again and so gets start's facts; update adds the limits it would set.
 */
import type { Engine } from '../runtime/engine.js';
import { MoatError } from '../errors.js';
import { RuntimeError } from '../runtime/errors.js';
import { ApiError } from './errors.js';
import { defineRoute, type AnyRoute, type ApiRequest } from './router.js';
import * as S from './schemas.js';
import {
  containerFacts,
  decidedContainer,
  recordFacts,
  startFacts,
  type ContainerRecordFacts,
} from './container-facts.js';
import { containerEvent } from '../runtime/events/index.js';

export function lifecycleRoutes(engine: Engine, handle?: (req: ApiRequest) => Promise<unknown>): AnyRoute[] {
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
        containerEvent(engine.deps.paths.data, 'pause', r);
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
        containerEvent(engine.deps.paths.data, 'unpause', r);
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
        const before = await engine.containers.resolve(decidedContainer(ctx)).catch(() => undefined);
        const r = await renameContainer(engine, decidedContainer(ctx), ctx.body.name);
        containerEvent(engine.deps.paths.data, 'rename', r, { oldName: before?.name });
        return { id: r.id, name: r.name };
      },
    }),
    defineRoute({
      // New limits: recorded, and written into a running container's cgroups (runtime/update.ts).
      // The policy sees the limits the container would have (facts.limits), as run's plan.
      method: 'POST',
      path: '/containers/:id/update',
      action: 'container.update',
      body: S.updateBody,
      facts: async (ctx) => {
        const f = await containerFacts(engine, ctx);
        const c = f.container as ContainerRecordFacts | undefined;
        if (!c) return f;
        const { plannedUpdate } = await import('../runtime/update.js');
        try {
          return { ...f, limits: plannedUpdate(c, ctx.body, engine.deps.host).limits };
        } catch {
          return f; // refused by the handler, after the decision
        }
      },
      handler: async (ctx) => {
        const { updateContainer } = await import('../runtime/update.js');
        const out = await updateContainer(engine, decidedContainer(ctx), ctx.body);
        const rec = await engine.containers.resolve(decidedContainer(ctx)).catch(() => undefined);
        if (rec) containerEvent(engine.deps.paths.data, 'update', rec);
        return out;
      },
    }),
    defineRoute({
      // stop, then start: the start is a request of its own through the router (container.start,
      // with start's facts), so every rule about starting holds for a restart too; restart itself
      // is decided first, on the same facts. A start refused then leaves the container stopped.
      method: 'POST',
      path: '/containers/:id/restart',
      action: 'container.restart',
      body: S.restartBody,
      facts: async (ctx) => startFacts(engine, ctx),
      handler: async (ctx) => {
        if (!handle) throw new ApiError('API_INTERNAL', 'restart needs the router to start the container');
        const rec = await engine.containers.resolve(decidedContainer(ctx));
        const name = rec.name || rec.id.slice(0, 12);
        if (rec.options?.rm)
          throw new RuntimeError(
            'RUNTIME_INVALID_STATE',
            `cannot restart ${name}: it was run with --rm, so stopping it removes it`,
            {
              hint: `moat stop ${name}, then run it again`,
            },
          );
        await engine.stop(rec.id, ctx.body.timeout);
        try {
          await handle({
            subject: ctx.req.subject,
            method: 'POST',
            path: `/containers/${rec.id}/start`,
            body: {},
          });
        } catch (e) {
          if (e instanceof MoatError) e.message = `${name} was stopped; its start failed: ${e.message}`;
          throw e;
        }
        containerEvent(engine.deps.paths.data, 'restart', rec);
        return { id: rec.id, name: rec.name };
      },
    }),
    defineRoute({
      // The stopped containers the filter chooses; the policy sees them (facts.containers), and
      // only those are removed (runtime/prune.ts).
      method: 'POST',
      path: '/containers/prune',
      action: 'container.prune',
      body: S.containerPruneBody,
      facts: async (ctx) => {
        const { pruneCandidates } = await import('../runtime/prune.js');
        const b = ctx.body;
        const found = await pruneCandidates(engine, {
          ...(b.until !== undefined ? { until: b.until * 1000 } : {}),
          ...(b.label ? { label: [...b.label] } : {}),
          ...(b.labelNot ? { labelNot: [...b.labelNot] } : {}),
        }).catch(() => []);
        return { containers: found.map(recordFacts) };
      },
      handler: async (ctx) => {
        const { pruneContainers } = await import('../runtime/prune.js');
        const seen = (ctx.facts.containers ?? []) as ContainerRecordFacts[];
        return pruneContainers(
          engine,
          seen.map((c) => c.id),
        );
      },
    }),
    defineRoute({
      // Disk usage: images (stored layers, shared ones), containers (writable layers).
      method: 'GET',
      path: '/system/df',
      action: 'system.df',
      body: S.empty,
      handler: async () => (await import('../runtime/disk-usage.js')).diskUsage(engine),
    }),
  ];
}
