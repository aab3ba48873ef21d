import type { Readable } from 'node:stream';
import type { Engine } from '../runtime/engine.js';
import { pruneImages, removeImage } from '../runtime/images.js';
import { hostPath } from './host-facts.js';
import { defineRoute, type AnyRoute, type RouteContext } from './router.js';
import * as S from './schemas.js';

/** The host path a load or import reads (none for `-`, the request's stdin), for the policy. */
async function readFacts(ctx: RouteContext<{ file: string }>): Promise<Record<string, unknown>> {
  const { STDIN } = await import('../image/archive-input.js');
  return { host_paths: ctx.body.file === STDIN ? [] : [hostPath(ctx.body.file, 'read')] };
}

/** A path, or `-`: the request's stdin (the CLI's; the HTTP API has none). */
async function source(ctx: RouteContext<unknown>, file: string): Promise<string | Readable> {
  const { STDIN, stdinInput } = await import('../image/archive-input.js');
  return file === STDIN ? stdinInput(ctx.req.io?.stdin).stream : file;
}

export function imageRoutes(engine: Engine): AnyRoute[] {
  const store = engine.deps.images;
  // Byte-level events are too many for a line each; phases and layers are shown.
  const progress =
    (ctx: RouteContext<unknown>) =>
    (ev: { phase: string; digest?: string; current?: number; total?: number }) => {
      if (ev.digest === undefined && ev.total === undefined) return;
      ctx.req.io?.progress?.(
        `${ev.phase}${ev.digest ? ` ${ev.digest.slice(7, 19)}` : ''}${ev.total ? ` ${ev.current ?? 0}/${ev.total}` : ''}`,
      );
    };
  return [
    defineRoute({
      method: 'GET',
      path: '/images',
      action: 'image.list',
      body: S.empty,
      handler: async () => store.list(),
    }),
    defineRoute({
      method: 'GET',
      path: '/images/:ref/json',
      action: 'image.inspect',
      body: S.empty,
      handler: async (ctx) => {
        const rec = await store.resolve(ctx.params.ref);
        return { ...rec, manifest: await store.manifest(rec), config: await store.config(rec) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/load',
      action: 'image.load',
      body: S.loadBody,
      facts: readFacts,
      handler: async (ctx) => {
        // Loaded on demand: the tar code is not needed to run a container.
        const { loadArchive } = await import('../image/archive.js');
        return loadArchive(store, await source(ctx, ctx.body.file), { onProgress: progress(ctx) });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/import',
      action: 'image.import',
      body: S.importBody,
      facts: readFacts,
      handler: async (ctx) => {
        const { importRootfs } = await import('../image/import.js');
        return importRootfs(store, await source(ctx, ctx.body.file), ctx.body.name, {
          changes: ctx.body.changes ?? [],
          onProgress: progress(ctx),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/:ref/tag',
      action: 'image.tag',
      body: S.tagBody,
      handler: async (ctx) => store.tag(ctx.params.ref, ctx.body.target),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/images/:ref',
      action: 'image.remove',
      body: S.forceBody,
      handler: async (ctx) => removeImage(engine, ctx.params.ref, ctx.body),
    }),
    defineRoute({
      method: 'POST',
      path: '/images/prune',
      action: 'image.prune',
      body: S.pruneBody,
      handler: async (ctx) =>
        pruneImages(engine, { minAgeMs: ctx.body.minAgeSeconds * 1000, all: Boolean(ctx.body.all) }),
    }),
  ];
}
