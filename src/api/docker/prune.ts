/**
 * The prunes `docker system prune` sends after the containers' (containers-prune.ts):
 * `POST /images/prune` becomes `image.prune` (dangling images, or with `dangling=false` every
 * image no container uses, as `docker image prune -a`), answered in Docker's shape
 * `{ImagesDeleted, SpaceReclaimed}`; volumes are pruned by volumes.ts, networks by networks.ts.
 * moat has no build cache, so its prune touches nothing and says that nothing was deleted (the
 * route test lists it as answering without a decision for that reason). Filters moat cannot apply (`until`, `label` on images) are
 * refused with Docker's message, never ignored: a prune removes what was asked and nothing else.
 */
import { sendJson } from '../http.js';
import { boolFilter, checkKeys, parseFilters } from './filters.js';
import type { Handler } from './handler.js';

const IMAGE_PRUNE_FILTERS = ['dangling'];

/** Docker's image prune filters as image.prune's body (dangling by default, as Docker). */
export function imagePruneQuery(raw: string | null): { all?: boolean } {
  const f = parseFilters(raw);
  checkKeys(f, IMAGE_PRUNE_FILTERS);
  return boolFilter(f, 'dangling', IMAGE_PRUNE_FILTERS) === false ? { all: true } : {};
}

const digest = (id: string): string => (id.startsWith('sha256:') ? id : `sha256:${id}`);

export const pruneImages: Handler = async ({ call, res, url }) => {
  const r = (await call('POST', '/images/prune', imagePruneQuery(url.searchParams.get('filters')))) as {
    untagged: string[];
    deleted: string[];
    freedBytes: number;
  };
  const deleted = [
    ...r.untagged.map((u) => ({ Untagged: u })),
    ...r.deleted.map((d) => ({ Deleted: digest(d) })),
  ];
  sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: r.freedBytes });
};

/** Nothing to prune: moat has no build cache (its filters are still checked). */
const nothing =
  (keys: readonly string[], answer: Record<string, unknown>): Handler =>
  async ({ res, url }) => {
    checkKeys(parseFilters(url.searchParams.get('filters')), keys);
    sendJson(res, 200, answer);
  };

export const pruneBuildCache = nothing(
  ['until', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private'],
  {
    CachesDeleted: null,
    SpaceReclaimed: 0,
  },
);
