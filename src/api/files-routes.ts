/**
 * A container's files: cp both ways (`container.copy_from`, `container.copy_to`), `container.diff`,
 * `container.export`, `container.commit`, and an image's history (`image.history`). Every route
 * that acts on a container carries its record and spec as facts (container-facts.ts); a host path
 * a request names (cp's, export's -o) is in `facts.host_paths` (canonical), read or written only
 * after the allow, so the policy's rules about host paths hold for copies too. The handlers act
 * on the container the policy saw.
 */
import { createWriteStream } from 'node:fs';
import type { Engine } from '../runtime/engine.js';
import { containerEvent } from '../runtime/events/index.js';
import { ApiError } from './errors.js';
import { hostPath } from './host-facts.js';
import { containerFacts, decidedContainer } from './container-facts.js';
import { hostFacts } from './host-runtime-facts.js';
import { defineRoute, type AnyRoute, type RequestIo, type RouteContext } from './router.js';
import * as S from './schemas.js';
import * as F from './schemas-files.js';

function io(ctx: RouteContext<unknown>): RequestIo {
  if (!ctx.req.io) throw new ApiError('API_INVALID_REQUEST', `${ctx.req.path} needs attached streams`);
  return ctx.req.io;
}

/** Loaded when a file route runs: the tar code is not needed by other commands. */
const files = () => import('../runtime/files/index.js');

async function withHostPath(
  engine: Engine,
  ctx: RouteContext<{ hostPath?: string }>,
  use: 'read' | 'write',
): Promise<Record<string, unknown>> {
  const facts = await containerFacts(engine, ctx);
  if (!ctx.body.hostPath) return { ...facts, host_paths: [] };
  // moat's own paths (facts.host): the policy protects them from copies as from bind mounts.
  return { ...facts, host: hostFacts(engine), host_paths: [hostPath(ctx.body.hostPath, use)] };
}

export function fileRoutes(engine: Engine): AnyRoute[] {
  const record = async (ctx: RouteContext<unknown>) =>
    (await files()).filesRecord(engine, decidedContainer(ctx));
  return [
    defineRoute({
      method: 'GET',
      path: '/containers/:id/archive',
      action: 'container.copy_from',
      body: F.copyFromBody,
      facts: async (ctx) => withHostPath(engine, ctx, 'write'),
      handler: async (ctx) => {
        const f = await files();
        const rec = await record(ctx);
        const b = ctx.body;
        if (b.statOnly) return { stat: await f.statInContainer(engine, rec, b.path, b.followLink) };
        if (b.hostPath) return f.copyOut(engine, rec, b.path, b.hostPath, b.followLink);
        const w = f.archiveOf(engine, rec, b.path, b.followLink);
        const stat = await w.stat.catch((e: unknown) => {
          w.kill();
          throw e;
        });
        const done = (await f.sendArchive(w, io(ctx).stdout)) as { skipped?: string[] };
        return { stat, skipped: done.skipped ?? [] };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/archive',
      action: 'container.copy_to',
      body: F.copyToBody,
      facts: async (ctx) => withHostPath(engine, ctx, 'read'),
      handler: async (ctx) => {
        const f = await files();
        const rec = await record(ctx);
        const b = ctx.body;
        if (b.hostPath)
          return f.copyIn(engine, rec, b.hostPath, b.path, {
            followLink: b.followLink,
            archiveOwners: b.archiveOwners,
          });
        const stdin = io(ctx).stdin;
        if (!stdin)
          throw new ApiError(
            'API_INVALID_REQUEST',
            'copying into a container needs a tar on stdin, or a host path',
          );
        const r = await f.extractInto(engine, rec, stdin, { dir: b.path, archiveOwners: b.archiveOwners });
        return { skipped: r.skipped };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/containers/:id/changes',
      action: 'container.diff',
      body: S.empty,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => (await files()).changesOf(engine, await record(ctx)),
    }),
    defineRoute({
      method: 'GET',
      path: '/containers/:id/export',
      action: 'container.export',
      body: F.exportBody,
      facts: async (ctx) => withHostPath(engine, ctx, 'write'),
      handler: async (ctx) => {
        const f = await files();
        const w = f.exportOf(engine, await record(ctx));
        const out = ctx.body.hostPath ? createWriteStream(ctx.body.hostPath) : io(ctx).stdout;
        try {
          const done = (await f.sendArchive(w, out)) as { skipped?: string[] };
          return { skipped: done.skipped ?? [] };
        } finally {
          if (ctx.body.hostPath) await new Promise((resolve) => out.end(resolve));
        }
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/commit',
      action: 'container.commit',
      body: F.commitBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const { commitContainer } = await import('../runtime/commit.js');
        const b = ctx.body;
        const rec = await record(ctx);
        // As docker commit: a running container is frozen while its layer is read, so the image
        // is one moment of it (only where it has a freezer cgroup; else it is read live, as
        // `--pause=false`). It is thawed whatever the commit's outcome.
        const freeze = b.pause && rec.status === 'running' && !rec.paused && Boolean(rec.cgroups.freezer);
        const { pauseContainer, unpauseContainer } = await import('../runtime/freezer.js');
        if (freeze) containerEvent(engine.deps.paths.data, 'pause', await pauseContainer(engine, rec.id));
        try {
          const img = await commitContainer(engine, rec, {
            ...(b.reference ? { reference: b.reference } : {}),
            changes: b.changes,
            ...(b.message !== undefined ? { message: b.message } : {}),
            ...(b.author !== undefined ? { author: b.author } : {}),
          });
          return { id: img.id, names: img.names, paused: freeze };
        } finally {
          if (freeze)
            containerEvent(engine.deps.paths.data, 'unpause', await unpauseContainer(engine, rec.id));
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/images/:ref/history',
      action: 'image.history',
      body: S.empty,
      handler: async (ctx) => {
        const { historyRows } = await import('../image/history.js');
        const store = engine.deps.images;
        const rec = await store.resolve(ctx.params.ref);
        return historyRows(rec, await store.config(rec));
      },
    }),
  ];
}
