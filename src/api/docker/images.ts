/**
 * Images through Docker's API: list (docker images, chosen by Docker's query in list.ts),
 * inspect and remove (docker rmi), in Docker's shapes. Pulling is images-pull.ts.
 */
import { sendJson } from '../http.js';
import { enc, epoch, flag, type Handler } from './handler.js';
import { imageFacts } from './list-facts.js';
import { imageQuery, selectImages } from './list.js';

/** An image as moat's image routes answer it. */
export interface ImageRec {
  id: string;
  names: string[];
  repoDigests?: string[];
  created: string;
  size: number;
}

export function imageSummary(i: ImageRec): Record<string, unknown> {
  // Docker's dangling image: `<none>:<none>` and `<none>@<none>`; the CLI shows no row for an
  // image with only one of them.
  const none = !i.names.length && !i.repoDigests?.length;
  return {
    Id: i.id,
    ParentId: '',
    RepoTags: none ? ['<none>:<none>'] : i.names,
    RepoDigests: none ? ['<none>@<none>'] : (i.repoDigests ?? []),
    Created: epoch(i.created),
    Size: i.size,
    VirtualSize: i.size,
    SharedSize: -1,
    Labels: {},
    Containers: -1,
  };
}

export const listImages: Handler = async ({ call, res, url }) => {
  const q = imageQuery(url.searchParams);
  const images = (await call('GET', '/images')) as ImageRec[];
  const facts = await imageFacts(call, q, images);
  sendJson(res, 200, selectImages(images, q, facts).map(imageSummary));
};

/** An image as moat's inspect route answers it: the record with its config. */
export type InspectedImage = ImageRec & {
  config?: { architecture?: string; os?: string; config?: unknown; rootfs?: { diff_ids?: string[] } };
};

/** docker image inspect's shape (also what `moat image inspect` adds to moat's record). */
export function imageInspect(i: InspectedImage): Record<string, unknown> {
  return {
    ...imageSummary(i),
    Created: i.created,
    Architecture: i.config?.architecture ?? '',
    Os: i.config?.os ?? '',
    Config: i.config?.config ?? {},
    RootFS: { Type: 'layers', Layers: i.config?.rootfs?.diff_ids ?? [] },
  };
}

export const inspectImage: Handler = async ({ call, m, res }) =>
  sendJson(res, 200, imageInspect((await call('GET', `/images/${enc(m[1])}/json`)) as InspectedImage));

export const removeImage: Handler = async ({ call, m, res, url }) => {
  const r = (await call('DELETE', `/images/${enc(m[1])}`, {
    force: flag(url.searchParams.get('force')),
  })) as {
    untagged?: string[];
    deleted?: string[];
  };
  sendJson(res, 200, [
    ...(r.untagged ?? [m[1]]).map((u) => ({ Untagged: u })),
    ...(r.deleted ?? []).map((d) => ({ Deleted: d })),
  ]);
};
