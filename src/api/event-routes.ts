/**
 * `system.events`: the event log (runtime/events), as docker's text lines or JSON messages, the
 * stored events from --since, then (without --until) new ones as they happen, until the client
 * goes away. Time and filter errors are the request's (API_INVALID_REQUEST), never a silent match.
 */
import {
  dockerEvent,
  eventLine,
  eventMatcher,
  parseEventFilters,
  parseEventTime,
  streamEvents,
} from '../runtime/events/index.js';
import type { Engine } from '../runtime/engine.js';
import { ApiError } from './errors.js';
import { defineRoute, type AnyRoute } from './router.js';

export const eventsBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { type: 'string', maxLength: 64 },
    until: { type: 'string', maxLength: 64 },
    filters: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 256 } },
    format: { enum: ['text', 'json'], default: 'text' },
  },
} as const;

function time(flag: string, v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  const t = parseEventTime(v);
  if (t === undefined)
    throw new ApiError('API_INVALID_REQUEST', `invalid ${flag} "${v}"`, {
      hint: 'give Unix seconds (1700000000), an RFC 3339 time (2026-12-07T10:00:00Z) or a duration before now (10m, 1h30m)',
    });
  return t;
}

export function eventRoutes(engine: Engine): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/events',
      action: 'system.events',
      body: eventsBody,
      handler: async (ctx) => {
        const out = ctx.req.io?.stdout;
        if (!out) throw new ApiError('API_INVALID_REQUEST', '/events needs attached streams');
        const since = time('--since', ctx.body.since);
        const until = time('--until', ctx.body.until);
        const parsed = parseEventFilters(ctx.body.filters ?? []);
        if ('error' in parsed)
          throw new ApiError('API_INVALID_REQUEST', parsed.error, {
            hint: 'filters: container=NAME|ID, event=ACTION, image=NAME, label=KEY[=VALUE], type=container|image',
          });
        const abort = new AbortController();
        out.once('close', () => abort.abort());
        out.once('error', () => abort.abort());
        ctx.req.io?.ready?.();
        await streamEvents(
          engine.deps.paths.data,
          {
            since,
            until,
            follow: until === undefined || until > BigInt(Date.now()) * 1_000_000n,
            filter: eventMatcher(parsed.ok),
            signal: abort.signal,
          },
          async (e) => {
            const line = ctx.body.format === 'json' ? JSON.stringify(dockerEvent(e)) : eventLine(e);
            if (out.write(line + '\n')) return;
            await new Promise<void>((r) => {
              out.once('drain', () => r());
              abort.signal.addEventListener('abort', () => r(), { once: true });
            });
          },
        );
        return {};
      },
    }),
  ];
}
