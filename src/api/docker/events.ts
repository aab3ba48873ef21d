/**
 * `GET /events` (docker events): the query as Docker defines it (since/until as Unix seconds or
 * durations, filters as JSON) onto moat's `system.events` route; each event as Docker's JSON
 * message, one per line, flushed as it happens, until `until` or the client goes away.
 */
import { filtersFromJson } from '../../runtime/events/index.js';
import { ApiError } from '../errors.js';
import type { Handler } from './handler.js';

export const systemEvents: Handler = async ({ call, res, url }) => {
  const q = url.searchParams;
  let filters: string[] = [];
  const raw = q.get('filters');
  if (raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const m = filtersFromJson(parsed);
    if (!m) throw new ApiError('API_INVALID_REQUEST', `invalid filters ${JSON.stringify(raw.slice(0, 80))}`);
    filters = [...m].flatMap(([k, vals]) => vals.map((v) => `${k}=${v}`));
  }
  const body = {
    ...(q.get('since') ? { since: q.get('since')! } : {}),
    ...(q.get('until') ? { until: q.get('until')! } : {}),
    filters,
    format: 'json' as const,
  };
  let started = false;
  const head = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
  };
  await call('GET', '/events', body, {
    stdout: res,
    stderr: res,
    ready: head,
  });
  head();
  res.end();
};
