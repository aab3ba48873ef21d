/**
 * `GET /system/df` (docker system df): moat's disk usage (runtime/disk-usage.ts, `system.df`)
 * in Docker's shape; no build cache, as moat has none.
 */
import type { DiskUsage } from '../../runtime/disk-usage.js';
import { sendJson } from '../http.js';
import { epoch, type Handler } from './handler.js';

export function dockerDiskUsage(d: DiskUsage): Record<string, unknown> {
  return {
    LayersSize: d.layersSize,
    Images: d.images.map((i) => {
      const none = !i.names.length && !i.repoDigests.length;
      return {
        Id: i.id,
        ParentId: '',
        RepoTags: none ? ['<none>:<none>'] : i.names,
        RepoDigests: none ? ['<none>@<none>'] : i.repoDigests,
        Created: epoch(i.created),
        Size: i.size,
        VirtualSize: i.size,
        SharedSize: i.sharedSize,
        Labels: {},
        Containers: i.containers,
      };
    }),
    Containers: d.containers.map((c) => ({
      Id: c.id,
      Names: [`/${c.name}`],
      Image: c.image,
      ImageID: c.imageId,
      Command: c.command.join(' '),
      Created: epoch(c.created),
      State: c.state,
      Status: c.status,
      SizeRw: c.sizeRw,
      SizeRootFs: c.sizeRootFs,
      Labels: {},
      Ports: [],
      Mounts: [],
      HostConfig: { NetworkMode: 'none' },
      NetworkSettings: { Networks: {} },
    })),
    Volumes: (d.volumes ?? []).map((v) => ({
      CreatedAt: v.created,
      Driver: 'local',
      Labels: v.labels,
      Mountpoint: v.mountpoint,
      Name: v.name,
      Options: {},
      Scope: 'local',
      UsageData: { Size: v.size, RefCount: v.refCount },
    })),
    BuildCache: [],
  };
}

export const systemDf: Handler = async ({ call, res }) =>
  sendJson(res, 200, dockerDiskUsage((await call('GET', '/system/df')) as DiskUsage));
