/**
 * Disk usage: `moat system df` (Docker's `GET /system/df`) and what a prune frees. Images are
 * their stored layers (the compressed blobs, as the store records them: moat's unpacked roots
 * are a cache beside them and are not counted), shared where another image has the same layer;
 * containers are their writable layer (the overlay's upper directory), volumes their files. moat
 * has no build cache: it is empty. Reads only; a tree walk is bounded and skips what it cannot read.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ImageRecord } from '../image/types.js';
import type { Engine } from './engine.js';
import { containerDirs, type ContainerRecord } from './state.js';
import { dockerState, humanStatus } from './status.js';
import { volumeUsers } from './volumes/store.js';

/** No more entries than this are looked at in one tree. */
const MAX_ENTRIES = 200_000;

/** Bytes of the regular files under `dir` (not following links; unreadable parts skipped). */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length && seen < MAX_ENTRIES) {
    const d = stack.pop()!;
    const ents = await fsp.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of ents) {
      if (++seen > MAX_ENTRIES) break;
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) total += (await fsp.lstat(p).catch(() => undefined))?.size ?? 0;
    }
  }
  return total;
}

export interface ImageUsage {
  id: string;
  names: string[];
  repoDigests: string[];
  created: string;
  /** Bytes of its layers as stored. */
  size: number;
  /** Bytes of its layers that other images have too. */
  sharedSize: number;
  /** Containers (in any state) made from it. */
  containers: number;
}

export interface ContainerUsage {
  id: string;
  name: string;
  image: string;
  imageId: string;
  command: string[];
  created: string;
  /** Docker's state word (running, paused, exited, created) and moat's status in words. */
  state: string;
  status: string;
  /** Bytes of its writable layer. */
  sizeRw: number;
  /** Its writable layer and its image's layers. */
  sizeRootFs: number;
}

export interface VolumeUsage {
  name: string;
  mountpoint: string;
  created: string;
  labels: Record<string, string>;
  anonymous: boolean;
  /** Bytes of its files (what the user can read of them). */
  size: number;
  /** Containers (any state) that mount it. */
  refCount: number;
}

export interface DiskUsage {
  /** Bytes of every stored layer, each counted once. */
  layersSize: number;
  images: ImageUsage[];
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
}

/** Pure: the images' sizes and sharing, from their records and the containers using them. */
export function imageUsage(
  images: readonly ImageRecord[],
  containers: readonly Pick<ContainerRecord, 'imageId'>[],
) {
  const owners = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const i of images)
    for (const d of new Set(i.layers.map((l) => l.digest))) owners.set(d, (owners.get(d) ?? 0) + 1);
  for (const i of images) for (const l of i.layers) sizes.set(l.digest, l.size);
  const usage: ImageUsage[] = images.map((i) => {
    const layers = [...new Map(i.layers.map((l) => [l.digest, l.size])).entries()];
    return {
      id: i.id,
      names: i.names,
      repoDigests: i.repoDigests ?? [],
      created: i.created,
      size: layers.reduce((a, [, s]) => a + s, 0),
      sharedSize: layers.filter(([d]) => (owners.get(d) ?? 0) > 1).reduce((a, [, s]) => a + s, 0),
      containers: containers.filter((c) => c.imageId === i.id).length,
    };
  });
  return { layersSize: [...sizes.values()].reduce((a, b) => a + b, 0), images: usage };
}

export async function diskUsage(e: Engine): Promise<DiskUsage> {
  const [images, recs] = await Promise.all([e.deps.images.list(), e.list(true)]);
  const { layersSize, images: usage } = imageUsage(images, recs);
  const imageSize = new Map(usage.map((i) => [i.id, i.size]));
  const containers: ContainerUsage[] = [];
  for (const c of recs) {
    const sizeRw = await dirSize(containerDirs(e.deps.paths, c.id).upper);
    containers.push({
      id: c.id,
      name: c.name,
      image: c.image,
      imageId: c.imageId,
      command: c.command,
      created: c.created,
      state: dockerState(c),
      status: humanStatus(c),
      sizeRw,
      sizeRootFs: sizeRw + (imageSize.get(c.imageId) ?? 0),
    });
  }
  const volumes: VolumeUsage[] = [];
  for (const v of await e.volumes.list()) {
    const mountpoint = e.volumes.mountpoint(v.name);
    volumes.push({
      name: v.name,
      mountpoint,
      created: v.created,
      labels: v.labels,
      anonymous: v.anonymous,
      size: await dirSize(mountpoint),
      refCount: volumeUsers(recs, v.name).length,
    });
  }
  return { layersSize, images: usage, containers, volumes };
}
