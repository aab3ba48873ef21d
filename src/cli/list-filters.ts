/**
 * `--filter KEY=VALUE` of `moat ps` and `moat images`: docker's filters, chosen by the same
 * functions the Docker API's lists use (api/docker/filters.ts, list.ts, list-facts.ts), loaded
 * only when a filter is given. What the filters need to know of images (the IDs an `ancestor`
 * names, labels, the times `before`/`since` name) is asked through the router like any request.
 */
import type { Call } from '../api/docker/call.js';
import type { NetworkView } from '../api/network-routes.js';
import { isMoatError } from '../errors.js';
import type { ImageRecord } from '../image/types.js';
import type { ContainerRecord } from '../runtime/state.js';
import { request } from './app.js';
import { UsageError } from './errors.js';

/** The keys `moat ps --filter` takes (CONTAINER_FILTERS of api/docker/list.ts, in help order). */
export const CONTAINER_FILTER_KEYS = [
  'status',
  'name',
  'label',
  'ancestor',
  'exited',
  'health',
  'volume',
  'network',
  'id',
  'before',
  'since',
];
/** The keys `moat images --filter` takes (IMAGE_FILTERS of api/docker/list.ts). */
export const IMAGE_FILTER_KEYS = ['reference', 'dangling', 'label', 'before', 'since', 'until'];

const call: Call = (method, path, body) => request(method, path, body);

/** A filter moat refuses is a mistake on the command line: CLI_USAGE, in the API's words. */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isMoatError(e) && e.code === 'API_INVALID_REQUEST') throw new UsageError(e.message, { hint: e.hint });
    throw e;
  }
}

/**
 * The containers `--filter`, `-n` (`limit`) and `-a` choose, newest first as docker lists them;
 * stopped ones without -a only where docker shows them (a status, before/since filter, or -n).
 */
export async function chooseContainers(
  flags: string[],
  all: boolean,
  limit: number,
): Promise<ContainerRecord[]> {
  const [{ parseFilterFlags }, { checkContainerFilters, selectContainers }, { imageIds }] = await Promise.all(
    [
      import('../api/docker/filters.js'),
      import('../api/docker/list.js'),
      import('../api/docker/list-facts.js'),
    ],
  );
  const filters = asUsage(() => {
    const parsed = parseFilterFlags(flags);
    checkContainerFilters(parsed);
    return parsed;
  });
  const recs = await request<ContainerRecord[]>('GET', '/containers', { all: true });
  const ancestors = filters.get('ancestor');
  const ids = ancestors ? await imageIds(call, ancestors) : undefined;
  const networks = filters.has('network') ? await request<NetworkView[]>('GET', '/networks') : [];
  return asUsage(() => selectContainers(recs, { all, limit, filters }, ids, networks));
}

/** The images `--filter` chooses, newest first, each with the names a `reference` filter matched. */
export async function chooseImages(flags: string[], images: ImageRecord[]): Promise<ImageRecord[]> {
  const [{ parseFilterFlags }, { imageQuery, selectImages }, { imageFacts }] = await Promise.all([
    import('../api/docker/filters.js'),
    import('../api/docker/list.js'),
    import('../api/docker/list-facts.js'),
  ]);
  const q = asUsage(() => {
    const filters = Object.fromEntries(parseFilterFlags(flags));
    return imageQuery(new URLSearchParams({ filters: JSON.stringify(filters) }));
  });
  const facts = await imageFacts(call, q, images);
  return selectImages(images, q, facts);
}
