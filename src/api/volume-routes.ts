/**
 * Volumes: create, list, inspect, remove, prune (`moat volume ...`, and the Docker API's
 * `/volumes` through docker/volumes.ts). The policy sees the volume a request names
 * (`facts.volume`: name, labels, anonymous, its directory, the containers that mount it), and for
 * prune the volumes it would remove (`facts.volumes`).
 */
import type { Engine } from '../runtime/engine.js';
import { removeTree } from '../runtime/remove.js';
import {
  anonymousVolumeName,
  volumesLock,
  volumeUsers,
  type VolumeRecord,
} from '../runtime/volumes/store.js';
import { withLock } from '../util/lock.js';
import { volumeView, type VolumeView } from '../runtime/volumes/view.js';
import { labelHolds } from '../util/labels.js';
import { defineRoute, type AnyRoute } from './router.js';
import * as S from './schemas.js';

export function volumeRoutes(engine: Engine): AnyRoute[] {
  const store = engine.volumes;
  const views = async (vols: readonly VolumeRecord[]): Promise<VolumeView[]> => {
    const containers = await engine.containers.list();
    return vols.map((v) =>
      volumeView(
        v,
        store.mountpoint(v.name),
        volumeUsers(containers, v.name).map((c) => c.name),
      ),
    );
  };
  const facts = async (name: string) => {
    const v = await store.find(name);
    return v ? { volume: (await views([v]))[0] } : {};
  };
  const removeDeps = {
    containers: engine.containers,
    deps: engine.deps,
    removeTree: (dir: string) => removeTree(engine, dir),
  };
  return [
    defineRoute({
      method: 'POST',
      path: '/volumes/create',
      action: 'volume.create',
      body: S.volumeCreateBody,
      handler: async (ctx) => {
        const { makeVolume } = await import('../runtime/volumes/prepare.js');
        const { volume } = await withLock(volumesLock(engine.deps.paths), () =>
          makeVolume(engine, ctx.body.name ?? anonymousVolumeName(), {
            labels: ctx.body.labels ?? {},
            options: ctx.body.options ?? {},
          }),
        );
        return (await views([volume]))[0];
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/volumes',
      action: 'volume.list',
      body: S.empty,
      handler: async () => views(await store.list()),
    }),
    defineRoute({
      method: 'GET',
      path: '/volumes/:name',
      action: 'volume.inspect',
      body: S.empty,
      facts: async (ctx) => facts(ctx.params.name),
      handler: async (ctx) => (await views([await store.get(ctx.params.name)]))[0],
    }),
    defineRoute({
      method: 'DELETE',
      path: '/volumes/:name',
      action: 'volume.remove',
      body: S.forceBody,
      facts: async (ctx) => facts(ctx.params.name),
      handler: async (ctx) => {
        const { removeVolume } = await import('../runtime/volumes/remove.js');
        return { name: await removeVolume(removeDeps, ctx.params.name, Boolean(ctx.body.force)) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/volumes/prune',
      action: 'volume.prune',
      body: S.volumePruneBody,
      facts: async (ctx) => ({
        volumes: (await views(await store.list())).filter((v) => prunable(v, ctx.body)),
      }),
      handler: async (ctx) => {
        const { pruneVolumes } = await import('../runtime/volumes/remove.js');
        const { dirSize } = await import('../runtime/disk-usage.js');
        // Only what the policy was shown: a volume made since is not removed.
        const shown = new Set(((ctx.facts.volumes ?? []) as VolumeView[]).map((v) => v.Name));
        return pruneVolumes(removeDeps, true, (v) => shown.has(v.name), dirSize);
      },
    }),
  ];
}

/** Would prune remove `v` (its users aside, checked again under the lock)? */
function prunable(
  v: VolumeView,
  b: { all?: boolean; label?: readonly string[]; labelNot?: readonly string[] },
): boolean {
  if (v.UsedBy.length) return false;
  if (!b.all && !v.Anonymous) return false;
  if (b.label && !b.label.every((l) => labelHolds(v.Labels, l))) return false;
  if (b.labelNot?.some((l) => labelHolds(v.Labels, l))) return false;
  return true;
}
