import type { Engine } from '../runtime/engine.js';
import type { Route, RouteContext } from './router.js';
import * as S from './schemas.js';
import { ApiError } from './errors.js';

export function imageRoutes(engine: Engine): Route<never>[] {
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
    {
      method: 'GET',
      path: '/images',
      action: 'image.list',
      body: S.empty,
      handler: async () => store.list(),
    },
    {
      method: 'GET',
      path: '/images/:ref/json',
      action: 'image.inspect',
      body: S.empty,
      handler: async (ctx) => {
        const rec = await store.resolve(ctx.params.ref);
        return { ...rec, manifest: await store.manifest(rec), config: await store.config(rec) };
      },
    },
    {
      method: 'POST',
      path: '/images/load',
      action: 'image.load',
      body: S.loadBody,
      handler: async (ctx: RouteContext<{ file: string }>) => {
        // Loaded on demand: the tar code is not needed to run a container.
        const { loadArchive } = await import('../image/archive.js');
        return loadArchive(store, ctx.body.file, { onProgress: progress(ctx) });
      },
    } satisfies Route<{ file: string }> as Route<never>,
    {
      method: 'POST',
      path: '/images/import',
      action: 'image.import',
      body: S.importBody,
      handler: async (ctx: RouteContext<{ file: string; name: string; changes?: string[] }>) => {
        const { importRootfs } = await import('../image/import.js');
        return importRootfs(store, ctx.body.file, ctx.body.name, {
          changes: ctx.body.changes ?? [],
          onProgress: progress(ctx),
        });
      },
    } satisfies Route<{ file: string; name: string }> as Route<never>,
    {
      method: 'POST',
      path: '/images/:ref/tag',
      action: 'image.tag',
      body: S.tagBody,
      handler: async (ctx: RouteContext<{ target: string }>) => store.tag(ctx.params.ref, ctx.body.target),
    } satisfies Route<{ target: string }> as Route<never>,
    {
      method: 'DELETE',
      path: '/images/:ref',
      action: 'image.remove',
      body: S.forceBody,
      handler: async (ctx: RouteContext<{ force?: boolean }>) => {
        const rec = await store.resolve(ctx.params.ref);
        const users = await engine.usersOf(rec.id);
        const lastName = rec.names.length <= 1 || /^(sha256:)?[0-9a-f]+$/.test(ctx.params.ref);
        if (users.length && lastName && !ctx.body.force) {
          throw new ApiError(
            'API_INVALID_REQUEST',
            `image ${ctx.params.ref} is used by ${users.length} container(s): ${users.map((u) => u.name).join(', ')}`,
            {
              hint: 'remove those containers first, or use moat rmi -f',
            },
          );
        }
        const res = await store.remove(ctx.params.ref, { force: ctx.body.force });
        if (!(await store.list()).some((i) => i.id === rec.id) && !users.length) {
          await engine.removeImageRootfs(rec.id);
        }
        return res;
      },
    } satisfies Route<{ force?: boolean }> as Route<never>,
  ];
}
