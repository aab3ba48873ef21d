/**
 * `moat events` / `GET /events`: times as docker takes them, filters as docker takes them, and the
 * two shapes docker prints (its text line, its JSON message). Pure.
 */
import type { MoatEvent } from './log.js';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * A time docker's --since/--until accept: Unix seconds (`1700000000`, `1700000000.5`), an RFC 3339
 * date or date-time, or a Go duration before now (`10m`, `1h30m`, `90s`). Undefined if none.
 */
export function parseEventTime(s: string, nowMs: number = Date.now()): bigint | undefined {
  const t = s.trim();
  if (/^\d{1,12}(\.\d{1,9})?$/.test(t)) {
    const [sec, frac = ''] = t.split('.');
    return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
  }
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t)) {
    let ns = 0n;
    for (const m of t.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/g)) {
      const unit = UNIT_NS[m[3]];
      ns +=
        BigInt(m[1]) * unit + (m[2] ? (BigInt(m[2].slice(0, 9).padEnd(9, '0')) * unit) / 1_000_000_000n : 0n);
    }
    return BigInt(nowMs) * 1_000_000n - ns;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const ms = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : t);
    if (Number.isFinite(ms)) return BigInt(ms) * 1_000_000n;
  }
  return undefined;
}

export const EVENT_FILTER_KEYS = ['container', 'event', 'image', 'label', 'type'] as const;

/** `key=value` filters: values of one key are alternatives, different keys must all hold. */
export function parseEventFilters(
  pairs: readonly string[],
): { ok: Map<string, string[]> } | { error: string } {
  const m = new Map<string, string[]>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    if (!(EVENT_FILTER_KEYS as readonly string[]).includes(k) || i < 0)
      return { error: `invalid filter "${p}"` };
    m.set(k, [...(m.get(k) ?? []), p.slice(i + 1)]);
  }
  return { ok: m };
}

/** The filter docker's /events takes as JSON: {"key": ["value", ...]} or {"key": {"value": true}}. */
export function filtersFromJson(v: unknown): Map<string, string[]> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const m = new Map<string, string[]>();
  for (const [k, vals] of Object.entries(v as Record<string, unknown>)) {
    if (!(EVENT_FILTER_KEYS as readonly string[]).includes(k)) return undefined;
    const list = Array.isArray(vals)
      ? vals
      : typeof vals === 'object' && vals !== null
        ? Object.keys(vals)
        : undefined;
    if (!list || !list.every((x) => typeof x === 'string')) return undefined;
    m.set(k, list as string[]);
  }
  return m;
}

function one(e: MoatEvent, key: string, value: string): boolean {
  switch (key) {
    case 'type':
      return e.type === value;
    case 'event':
      return e.action === value || e.action.startsWith(`${value}:`);
    case 'container':
      return (
        e.type === 'container' &&
        (e.attributes.name === value || (value.length >= 1 && e.id.startsWith(value)))
      );
    case 'image':
      return (
        e.attributes.image === value ||
        (e.type === 'image' && (e.id.startsWith(value) || e.attributes.name === value))
      );
    case 'label': {
      const i = value.indexOf('=');
      const k = i < 0 ? value : value.slice(0, i);
      const a = e.attributes[k];
      return a !== undefined && (i < 0 || a === value.slice(i + 1));
    }
    default:
      return false;
  }
}

export function eventMatcher(filters: Map<string, string[]>): (e: MoatEvent) => boolean {
  return (e) => [...filters].every(([k, vals]) => vals.some((v) => one(e, k, v)));
}

/** docker's JSON message for an event. */
export function dockerEvent(e: MoatEvent): Record<string, unknown> {
  const ns = BigInt(e.timeNano);
  return {
    status: e.action,
    id: e.id,
    ...(e.attributes.image ? { from: e.attributes.image } : {}),
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.id, Attributes: e.attributes },
    scope: 'local',
    time: Number(ns / 1_000_000_000n),
    timeNano: Number(ns),
  };
}

/** docker's text line: `2026-12-07T05:50:00.123456789Z container start ID (image=…, name=…)`. */
export function eventLine(e: MoatEvent): string {
  const ns = BigInt(e.timeNano);
  const iso = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  const attrs = Object.keys(e.attributes)
    .sort()
    .map((k) => `${k}=${e.attributes[k]}`)
    .join(', ');
  return `${iso}.${frac}Z ${e.type} ${e.action} ${e.id}${attrs ? ` (${attrs})` : ''}`;
}
