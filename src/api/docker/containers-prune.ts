/**
 * `POST /containers/prune?filters=` (docker container prune): Docker's prune filters (`until`,
 * `label`, `label!`) onto `container.prune` (runtime/prune.ts), answered in Docker's shape
 * `{ContainersDeleted, SpaceReclaimed}`.
 */
import { sendJson } from '../http.js';
import { checkKeys, invalidFilter, parseFilters, parseTimestamp } from './filters.js';
import type { Handler } from './handler.js';

const PRUNE_FILTERS = ['until', 'label', 'label!'];

/** Docker's prune filters as container.prune's body. */
export function containerPruneQuery(raw: string | null, now = Date.now()): Record<string, unknown> {
  const f = parseFilters(raw);
  checkKeys(f, PRUNE_FILTERS);
  const body: Record<string, unknown> = {};
  for (const v of f.get('until') ?? []) {
    const t = parseTimestamp(v, now);
    if (t === undefined) throw invalidFilter('until', v, PRUNE_FILTERS);
    body.until = Math.min((body.until as number | undefined) ?? Infinity, t / 1000);
  }
  if (f.get('label')?.length) body.label = f.get('label');
  if (f.get('label!')?.length) body.labelNot = f.get('label!');
  return body;
}

export const pruneContainers: Handler = async ({ call, res, url }) => {
  const r = (await call(
    'POST',
    '/containers/prune',
    containerPruneQuery(url.searchParams.get('filters')),
  )) as {
    deleted: string[];
    reclaimed: number;
  };
  sendJson(res, 200, { ContainersDeleted: r.deleted.length ? r.deleted : null, SpaceReclaimed: r.reclaimed });
};
