/**
 * Docker's `/volumes` (Engine API v1.41) on moat's volume routes: `docker volume create`, `ls`,
 * `inspect`, `rm [-f]` and `prune [-a]`. The answers are Docker's shapes (`Volume` objects:
 * Name, Driver, Mountpoint, CreatedAt, Labels, Options, Scope); list filters are Docker's
 * (dangling, driver, label, name), refused when unknown.
 */
import { filterVolumes } from '../../runtime/volumes/filter.js';
import type { VolumePruneResult } from '../../runtime/volumes/remove.js';
import type { VolumeView } from '../../runtime/volumes/view.js';
import { ApiError } from '../errors.js';
import { readJson, sendJson } from '../http.js';
import { boolFilter, checkKeys, parseFilters } from './filters.js';
import { flag, noContent, type Handler } from './handler.js';

const enc = encodeURIComponent;

/** Docker's Volume object (moat's own fields left out). */
function dockerVolume(v: VolumeView): Record<string, unknown> {
  return {
    CreatedAt: v.CreatedAt,
    Driver: v.Driver,
    Labels: v.Labels,
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Options: v.Options,
    Scope: v.Scope,
  };
}

export const listVolumes: Handler = async ({ call, res, url }) => {
  const f = parseFilters(url.searchParams.get('filters'));
  const vols = filterVolumes((await call('GET', '/volumes')) as VolumeView[], f);
  sendJson(res, 200, { Volumes: vols.map(dockerVolume), Warnings: null });
};

export const createVolume: Handler = async ({ call, req, res }) => {
  const b = ((await readJson(req)) ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b))
    throw new ApiError('API_INVALID_REQUEST', 'body must be an object');
  const driver = b.Driver;
  if (driver !== undefined && driver !== '' && driver !== 'local')
    throw new ApiError(
      'API_INVALID_REQUEST',
      `volume driver "${String(driver).slice(0, 40)}" is not available`,
      {
        hint: "moat's volumes are local directories (the local driver)",
      },
    );
  const v = (await call('POST', '/volumes/create', {
    ...(typeof b.Name === 'string' && b.Name !== '' ? { name: b.Name } : {}),
    ...(b.Labels && typeof b.Labels === 'object' ? { labels: b.Labels } : {}),
    ...(b.DriverOpts && typeof b.DriverOpts === 'object' ? { options: b.DriverOpts } : {}),
  })) as VolumeView;
  sendJson(res, 201, dockerVolume(v));
};

export const inspectVolume: Handler = async ({ call, m, res }) => {
  sendJson(res, 200, dockerVolume((await call('GET', `/volumes/${enc(m[1])}`)) as VolumeView));
};

export const removeVolume: Handler = async ({ call, m, res, url }) => {
  await call('DELETE', `/volumes/${enc(m[1])}`, { force: flag(url.searchParams.get('force')) });
  noContent(res);
};

const PRUNE_FILTERS = ['label', 'label!', 'all'];

export const pruneVolumes: Handler = async ({ call, res, url }) => {
  const f = parseFilters(url.searchParams.get('filters'));
  checkKeys(f, PRUNE_FILTERS);
  const all = boolFilter(f, 'all', PRUNE_FILTERS);
  const r = (await call('POST', '/volumes/prune', {
    ...(all ? { all: true } : {}),
    ...(f.get('label')?.length ? { label: f.get('label') } : {}),
    ...(f.get('label!')?.length ? { labelNot: f.get('label!') } : {}),
  })) as VolumePruneResult;
  sendJson(res, 200, { VolumesDeleted: r.deleted.length ? r.deleted : null, SpaceReclaimed: r.reclaimed });
};
