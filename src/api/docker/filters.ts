/**
 * Docker's list filters (Engine API v1.41): the `filters` query parameter, a JSON object of
 * `{"key": ["value", ...]}` or the legacy `{"key": {"value": true}}`, and Docker's ways of
 * matching a value (moby's `filters.Args`). Values of one key are alternatives (any matches);
 * keys all apply.
 *
 * A key moat does not understand is refused, never ignored: a filter that silently matched
 * everything is how `docker rm -f $(docker ps -aq --filter …)` removes every container.
 *
 * Docker's name and id filters are Go (RE2) regular expressions: matched here with re2js, whose
 * time is linear in the input, so a pattern cannot stall the service.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';
import { ApiError } from '../errors.js';

/** re2js, loaded when a list first needs an expression (its import takes ~20 ms). */
let lib: typeof import('re2js') | undefined;
const re2 = (): typeof RE2JS =>
  (lib ??= createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS;

export type Filters = ReadonlyMap<string, readonly string[]>;

/** Bounds on what a client may send: the parameter's size, and keys and values per key. */
const MAX_PARAM = 64 * 1024;
const MAX_VALUES = 100;

/** Docker's message for a filter it does not accept, with what moat does accept. */
export function invalidFilter(key: string, value: string | undefined, accepted: readonly string[]): ApiError {
  return new ApiError(
    'API_INVALID_REQUEST',
    `invalid filter '${key}${value === undefined ? '' : `=${value}`}'`,
    {
      hint: `moat filters this list by ${accepted.join(', ')}`,
    },
  );
}

/** Parse the `filters` query parameter (absent or empty: no filters). */
export function parseFilters(raw: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (raw === null || raw.trim() === '') return out;
  const bad = (why: string) =>
    new ApiError('API_INVALID_REQUEST', `invalid filter: ${why}`, {
      hint: 'filters look like {"label":["app=web"]} (docker ps --filter label=app=web)',
    });
  if (raw.length > MAX_PARAM) throw bad(`the filters parameter is longer than ${MAX_PARAM} characters`);
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw bad('the filters parameter is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('filters must be an object');
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    let values: unknown[];
    if (Array.isArray(v)) values = v;
    else if (typeof v === 'object' && v !== null)
      values = Object.keys(v); // legacy {"value": true}
    else throw bad(`the values of '${key}' must be a list`);
    if (values.length > MAX_VALUES) throw bad(`more than ${MAX_VALUES} values for '${key}'`);
    if (!values.every((x): x is string => typeof x === 'string'))
      throw bad(`the values of '${key}' must be strings`);
    if (values.length) out.set(key, [...new Set(values)]);
  }
  return out;
}

/**
 * The docker CLI's `--filter KEY=VALUE` flags (moby's `filters.ParseFlag`): the key trimmed and
 * lower-cased, the value trimmed, repeated keys gathering their values; the same Filters as the
 * API's parameter, with the same bounds.
 */
export function parseFilterFlags(flags: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const arg of flags) {
    if (arg === '') continue;
    const eq = arg.indexOf('=');
    if (eq < 0)
      throw new ApiError('API_INVALID_REQUEST', `bad format of filter '${arg}' (expected name=value)`, {
        hint: 'filters look like --filter status=exited or --filter label=app=web',
      });
    const key = arg.slice(0, eq).trim().toLowerCase();
    const values = out.get(key) ?? [];
    const value = arg.slice(eq + 1).trim();
    if (!values.includes(value)) values.push(value);
    if (values.length > MAX_VALUES)
      throw new ApiError(
        'API_INVALID_REQUEST',
        `invalid filter: more than ${MAX_VALUES} values for '${key}'`,
      );
    out.set(key, values);
  }
  return out;
}

/** Refuse any key that is not in `accepted`. */
export function checkKeys(f: Filters, accepted: readonly string[]): void {
  for (const key of f.keys()) if (!accepted.includes(key)) throw invalidFilter(key, undefined, accepted);
}

const compiled = new Map<string, RE2JS | null>();
function regex(pattern: string): RE2JS | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = re2().compile(pattern);
    } catch {
      re = null; // Docker skips a value that is not a valid expression
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * moby's `Args.Match`: true without values for `key`; else when a value equals `source` or, as
 * an unanchored regular expression, is found in it.
 */
export function matchField(f: Filters, key: string, source: string): boolean {
  const values = f.get(key);
  if (!values) return true;
  return values.some((v) => v === source || (regex(v)?.matcher(source).find() ?? false));
}

/**
 * moby's `Args.MatchKVList`: every value (`key` or `key=value`) holds in `labels`.
 */
export function matchLabels(f: Filters, labels: Readonly<Record<string, string>>): boolean {
  const values = f.get('label');
  if (!values) return true;
  return values.every((v) => {
    const eq = v.indexOf('=');
    if (eq < 0) return Object.hasOwn(labels, v);
    const k = v.slice(0, eq);
    return Object.hasOwn(labels, k) && labels[k] === v.slice(eq + 1);
  });
}

/** A boolean filter (`dangling=true`): Docker accepts true/1/false/0, one value. */
export function boolFilter(f: Filters, key: string, accepted: readonly string[]): boolean | undefined {
  const values = f.get(key);
  if (!values) return undefined;
  const v = values.length === 1 ? values[0].toLowerCase() : '';
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidFilter(key, values.join(','), accepted);
}

/**
 * Docker's timestamps for `until` (and `--since` of logs): a Go duration before now (`10m`,
 * `1h30m`), Unix seconds (`1700000000.5`), or an RFC 3339 date. Milliseconds since the epoch.
 */
export function parseTimestamp(v: string, now = Date.now()): number | undefined {
  const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNITS[m[2]];
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/**
 * Go's `path.Match` (what Docker's `reference` filter uses) as an RE2 expression: `*` is any run
 * of characters but `/`, `?` one of them, `[...]` a class, `\` quotes the next character.
 */
export function globToRegex(glob: string): RE2JS | null {
  let src = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) src += re2().quote(glob[++i]);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) return null; // Go: ErrBadPattern
      src += `[${glob.slice(i + 1, end)}]`;
      i = end;
    } else src += re2().quote(c);
  }
  return regex(src + '$');
}
