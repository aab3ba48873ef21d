/**
 * `GET /containers/json` and `GET /images/json` with Docker's query (v1.41): which records a
 * list shows, given the query and what was resolved for it (image IDs an `ancestor` names, the
 * labels of images). Pure: the handlers fetch the records through the router and hand them here.
 * `moat ps --filter` and `moat images --filter` choose with the same functions (src/cli/list-filters.ts).
 */
import type { ContainerRecord } from '../../runtime/state.js';
import type { NetworkView } from '../network-routes.js';
import { dockerState } from '../../runtime/status.js';
import { ApiError } from '../errors.js';
import {
  boolFilter,
  checkKeys,
  globToRegex,
  invalidFilter,
  matchField,
  matchLabels,
  parseFilters,
  parseTimestamp,
  type Filters,
} from './filters.js';

/** Docker's container filters that moat has: the others (publish, expose, ...) are refused. */
export const CONTAINER_FILTERS = [
  'volume',
  'network',
  'ancestor',
  'before',
  'exited',
  'health',
  'id',
  'label',
  'name',
  'since',
  'status',
];
/** The container mounts volume `v`, or has a mount (bind or volume) on path `v`. */
function mountsVolume(c: ContainerRecord, v: string): boolean {
  return (c.options.volumes ?? []).some((m) => m.volume === v || m.container.replace(/(.)\/$/, '$1') === v);
}

/**
 * The container is on network `v` (a name, an ID or a prefix of one at least 3 characters long):
 * a user-defined network it joined (an endpoint in network.list's view) or the mode it was run
 * with (`none`, `slirp4netns`, `pasta`, a network's name).
 */
function onNetwork(c: ContainerRecord, v: string, networks: readonly NetworkView[]): boolean {
  if ((c.options.network ?? 'none') === v) return true;
  return networks.some(
    (n) =>
      (n.Name === v || n.Id === v || (v.length >= 3 && n.Id.startsWith(v))) &&
      n.Endpoints.some((e) => e.Id === c.id),
  );
}

/** Docker's health words (`none`: no health check). */
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** A container's health as the `health` filter sees it: its check's status, or `none`. */
export function healthWord(c: ContainerRecord): string {
  return c.healthcheck ? (c.health?.status ?? 'starting') : 'none';
}
/** Docker's container states (a `status` filter must name one). */
const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export const IMAGE_FILTERS = ['before', 'dangling', 'label', 'reference', 'since', 'until'];

const flag = (v: string | null): boolean => v !== null && v !== '0' && v !== 'false' && v !== '';

export interface ContainerQuery {
  all: boolean;
  /** At most this many (the newest first); 0 for no limit. */
  limit: number;
  filters: Filters;
}

/**
 * Container filters checked: keys moat has, a status Docker has, a number for `exited`. Used by
 * the API's `filters` parameter and by `moat ps --filter` (parseFilterFlags) alike.
 */
export function checkContainerFilters(filters: Filters): void {
  checkKeys(filters, CONTAINER_FILTERS);
  for (const s of filters.get('status') ?? [])
    if (!STATES.includes(s)) throw invalidFilter('status', s, CONTAINER_FILTERS);
  for (const e of filters.get('exited') ?? [])
    if (!/^-?\d{1,10}$/.test(e)) throw invalidFilter('exited', e, CONTAINER_FILTERS);
  for (const h of filters.get('health') ?? [])
    if (!HEALTH.includes(h)) throw invalidFilter('health', h, CONTAINER_FILTERS);
}

/** `all`, `limit` and `filters` of `GET /containers/json`, checked. */
export function containerQuery(q: URLSearchParams): ContainerQuery {
  const filters = parseFilters(q.get('filters'));
  checkContainerFilters(filters);
  const limit = q.get('limit') ?? '';
  if (limit !== '' && !/^-?\d{1,9}$/.test(limit))
    throw new ApiError('API_INVALID_REQUEST', `invalid limit ${JSON.stringify(limit.slice(0, 20))}`, {
      hint: 'docker ps -n N takes a number',
    });
  return { all: flag(q.get('all')), limit: Math.max(0, Number(limit || 0)), filters };
}

const newestFirst = <T extends { created: string; id: string }>(list: readonly T[]): T[] =>
  [...list].sort(
    (a, b) => (Date.parse(b.created) || 0) - (Date.parse(a.created) || 0) || (a.id < b.id ? -1 : 1),
  );

/** A container a `before`/`since` filter names: full ID, name, or ID prefix (as Docker finds it). */
function named(list: readonly ContainerRecord[], ref: string): ContainerRecord {
  const c =
    list.find((x) => x.id === ref || x.name === ref) ??
    (ref.length >= 1 ? list.find((x) => x.id.startsWith(ref)) : undefined);
  if (!c)
    throw new ApiError('API_INVALID_REQUEST', `invalid filter: no such container: ${ref}`, {
      hint: 'before= and since= name a container (docker ps -a lists them)',
    });
  return c;
}

/**
 * The containers `docker ps` shows, newest first: stopped ones only with `all` (or a limit, a
 * status, a before/since filter, as Docker does); every filter key must hold, any of its values.
 * `ancestorIds`: the image IDs the `ancestor` values resolved to; `networks`: network.list's view
 * (for `network`).
 */
export function selectContainers(
  recs: readonly ContainerRecord[],
  q: ContainerQuery,
  ancestorIds?: ReadonlySet<string>,
  networks: readonly NetworkView[] = [],
): ContainerRecord[] {
  const f = q.filters;
  const sorted = newestFirst(recs);
  const all = q.all || q.limit > 0 || f.has('status') || f.has('before') || f.has('since');
  // Newest first: `before` keeps what comes after its container, `since` what comes before it.
  const at = (key: 'before' | 'since') => {
    const v = f.get(key);
    return v ? Math.max(...v.map((ref) => sorted.indexOf(named(sorted, ref)))) : undefined;
  };
  const before = at('before');
  const since = at('since');
  const exited = f.get('exited')?.map(Number);
  const out = sorted.filter((c, i) => {
    if (!all && c.status !== 'running') return false;
    if (before !== undefined && i <= before) return false;
    if (since !== undefined && i >= since) return false;
    if (!matchField(f, 'name', `/${c.name}`)) return false; // Docker's names begin with '/'
    if (!matchField(f, 'id', c.id)) return false;
    if (!matchLabels(f, c.options.labels ?? {})) return false;
    if (exited && !(c.status === 'exited' && exited.includes(c.exitCode ?? 0))) return false;
    if (f.has('status') && !f.get('status')!.includes(dockerState(c))) return false;
    if (f.has('health') && !f.get('health')!.includes(healthWord(c))) return false;
    // docker's volume=NAME|DESTINATION: a volume it mounts, or a mount point it has.
    if (f.has('volume') && !f.get('volume')!.some((v) => mountsVolume(c, v))) return false;
    if (f.has('network') && !f.get('network')!.some((v) => onNetwork(c, v, networks))) return false;
    if (ancestorIds && !ancestorIds.has(c.imageId)) return false;
    return true;
  });
  return q.limit > 0 ? out.slice(0, q.limit) : out;
}

export interface ImageQuery {
  filters: Filters;
  dangling?: boolean;
  /** `until`: created before this (ms since the epoch). */
  until?: number;
}

/** `filters` of `GET /images/json`, checked. */
export function imageQuery(q: URLSearchParams): ImageQuery {
  const filters = parseFilters(q.get('filters'));
  checkKeys(filters, IMAGE_FILTERS);
  const dangling = boolFilter(filters, 'dangling', IMAGE_FILTERS);
  let until: number | undefined;
  for (const v of filters.get('until') ?? []) {
    const t = parseTimestamp(v);
    if (t === undefined) throw invalidFilter('until', v, IMAGE_FILTERS);
    until = Math.min(until ?? t, t);
  }
  for (const r of filters.get('reference') ?? [])
    if (!globToRegex(r)) throw invalidFilter('reference', r, IMAGE_FILTERS);
  return { filters, dangling, until };
}

/** The forms of a stored name a `reference` pattern is tried on: as stored and as Docker shows it. */
export function nameForms(name: string): string[] {
  const at = name.indexOf('@');
  const repoEnd = at >= 0 ? at : name.lastIndexOf(':') > name.lastIndexOf('/') ? name.lastIndexOf(':') : -1;
  const forms = [name, ...(repoEnd >= 0 ? [name.slice(0, repoEnd)] : [])];
  for (const p of ['localhost/', 'docker.io/library/', 'docker.io/'])
    if (name.startsWith(p)) return [...forms, ...forms.map((n) => n.slice(p.length))];
  return forms;
}

/** Does any `reference` pattern match a form of this name (Docker's `reference.FamiliarMatch`)? */
export function referenceMatch(f: Filters, name: string): boolean {
  const patterns = f.get('reference');
  if (!patterns) return true;
  const forms = nameForms(name);
  return patterns.some((p) => forms.some((n) => globToRegex(p)?.matcher(n).matches() ?? false));
}

export interface ImageRow {
  id: string;
  names: string[];
  repoDigests?: string[];
  created: string;
  size: number;
}

export interface ImageFacts {
  /** Each image's config labels (needed for a `label` filter). */
  labels?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** `before`/`since`: the creation times (ms) of the images they name. */
  before?: number;
  since?: number;
}

/**
 * The images `docker images` shows, newest first, each with the names the `reference` filter
 * matched (all of them without one); an image none of whose names matched is left out.
 */
export function selectImages<T extends ImageRow>(
  images: readonly T[],
  q: ImageQuery,
  facts: ImageFacts = {},
): T[] {
  const f = q.filters;
  const out: T[] = [];
  for (const i of newestFirst(images)) {
    const created = Date.parse(i.created) || 0;
    if (q.dangling !== undefined && q.dangling !== (i.names.length === 0)) continue;
    if (q.until !== undefined && created >= q.until) continue;
    if (facts.before !== undefined && created >= facts.before) continue;
    if (facts.since !== undefined && created <= facts.since) continue;
    if (!matchLabels(f, facts.labels?.get(i.id) ?? {})) continue;
    if (!f.has('reference')) {
      out.push(i);
      continue;
    }
    const names = i.names.filter((n) => referenceMatch(f, n));
    if (!names.length) continue;
    out.push({ ...i, names, repoDigests: (i.repoDigests ?? []).filter((n) => referenceMatch(f, n)) });
  }
  return out;
}
