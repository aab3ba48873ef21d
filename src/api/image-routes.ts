import type { Readable } from 'node:stream';
import { ImageError } from '../image/errors.js';
import { lookupImage, shortId } from '../image/store.js';
import type { Engine } from '../runtime/engine.js';
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
      handler: async (ctx) => {
        const { pruneImages } = await import('./image-prune.js');
        return pruneImages(engine, {
          minAgeMs: (ctx.body.minAgeSeconds ?? 600) * 1000,
          all: Boolean(ctx.body.all),
        });
      },
    }),
  ];
}

/**
 * `rmi`, with Docker's conflicts: removing the image a running container uses is refused even
 * with force; removing the image (its last name, or by ID) that stopped containers use needs
 * force, and then the record goes but its blobs and unpacked root stay until no container uses
 * them (`image prune` frees them), so those containers still start. Untagging one of several
 * names is always allowed.
 */
async function removeImage(engine: Engine, ref: string, body: { force?: boolean }) {
  const store = engine.deps.images;
  const { record, name } = lookupImage(await store.list(), ref);
  const deletes = name === undefined || record.names.length <= 1;
  const users = deletes ? await engine.usersOf(record.id) : [];
  const running = users.find((u) => u.status === 'running');
  if (running) {
    throw new ImageError(
      'IMAGE_IN_USE',
      `unable to delete ${shortId(record.id)} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`,
      {
        hint: `stop the container first (moat stop ${running.name}), then remove the image`,
        details: { id: record.id, containers: users.map((u) => u.id) },
      },
    );
  }
  if (users.length && !body.force) {
    throw new ImageError(
      'IMAGE_IN_USE',
      `unable to remove ${JSON.stringify(ref)} (must be forced) - image is being used by stopped container ${users[0].id.slice(0, 12)}`,
      {
        hint: `remove the container first (moat rm ${users.map((u) => u.name).join(' ')}), or use moat rmi -f: the container keeps working`,
        details: { id: record.id, containers: users.map((u) => u.id) },
      },
    );
  }
  const res = await store.remove(ref, { force: body.force, retain: users.length > 0 });
  if (res.deleted.length && !users.length) await engine.removeImageRootfs(record.id);
  return res;
}
