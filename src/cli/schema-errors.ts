/**
 * The router names what is wrong with a request by JSON-schema path (`/options/env/0 must match
 * pattern "^[^=]+="`); a CLI user typed a flag. This maps the paths the CLI's requests use back
 * to the flag and says what its value must be: `-e/--env "x": must be KEY=VALUE`.
 */
import { isMoatError } from '../errors.js';
import { UsageError } from './errors.js';

interface FlagRule {
  path: RegExp;
  flag: string;
  must: string;
}

const ABSOLUTE = 'must be an absolute path';

const RULES: FlagRule[] = [
  {
    path: /^\/(options\/)?env\/\d+$/,
    flag: '-e/--env',
    must: 'must be KEY=VALUE (or KEY, to pass on your own value)',
  },
  {
    path: /^\/(options\/)?user$/,
    flag: '-u/--user',
    must: 'must be a UID or a user name, optionally followed by :GID or :group',
  },
  { path: /^\/(options\/)?workdir$/, flag: '-w/--workdir', must: ABSOLUTE },
  {
    path: /^\/options\/hostname$/,
    flag: '--hostname',
    must: 'must be a host name: letters, digits, - and ., starting with a letter or digit, at most 63 characters',
  },
  { path: /^\/options\/name$/, flag: '--name', must: 'must be 1 to 128 characters' },
  { path: /^\/options\/image$/, flag: 'IMAGE', must: 'must be 1 to 1024 characters' },
  { path: /^\/options\/volumes\/\d+\/(host|container)$/, flag: '-v/--volume', must: ABSOLUTE },
  { path: /^\/options\/tmpfs\/\d+\/path$/, flag: '--tmpfs', must: ABSOLUTE },
  { path: /^\/options\/memory$/, flag: '-m/--memory', must: 'must be a positive size, e.g. 64m' },
  {
    path: /^\/options\/pidsLimit$/,
    flag: '--pids-limit',
    must: 'must be a positive whole number, or -1 for none',
  },
  { path: /^\/options\/cpus$/, flag: '--cpus', must: 'must be a number above 0, e.g. 0.5' },
  { path: /^\/options\/ulimits\//, flag: '--ulimit', must: 'must be NAME=SOFT[:HARD], whole numbers ≥ 0' },
  { path: /^\/options\/labels\//, flag: '-l/--label', must: 'must be KEY=VALUE' },
  { path: /^\/options\/seccompProfile$/, flag: '--security-opt seccomp=', must: 'must name a file' },
  { path: /^\/cmd$/, flag: 'COMMAND', must: 'must be given' },
  { path: /^\/signal$/, flag: '-s/--signal', must: 'must be a signal name or number, e.g. TERM or 15' },
  { path: /^\/timeout$/, flag: '-t/--time', must: 'must be a whole number of seconds from 0 to 86400' },
  { path: /^\/tail$/, flag: '--tail', must: 'must be a whole number ≥ 0, or all' },
  { path: /^\/platform$/, flag: '--platform', must: 'must be OS/ARCH[/VARIANT], e.g. linux/amd64' },
  { path: /^\/minAgeSeconds$/, flag: '--min-age', must: 'must be a whole number of seconds ≥ 0' },
  { path: /^\/chunkSize$/, flag: '--chunk-size', must: 'must be a whole number of bytes ≥ 0' },
];

/** The value a JSON pointer (`/options/env/0`) names in `body`, if any. */
export function pointerValue(body: unknown, pointer: string): unknown {
  let cur: unknown = body;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key))
      return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function show(v: unknown): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return ` ${JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s)}`;
}

/**
 * API_INVALID_REQUEST for a request the CLI built from flags, in the flags' words (CLI_USAGE);
 * any other error, or one whose paths are not the CLI's, unchanged.
 */
export function translateSchemaError(e: unknown, body: unknown): unknown {
  if (!isMoatError(e) || e.code !== 'API_INVALID_REQUEST') return e;
  const errors = e.details?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return e;
  const seen = new Set<string>();
  const parts: string[] = [];
  let mapped = 0;
  for (const err of errors) {
    if (typeof err !== 'string') return e;
    const m = /^(\S+) (.*)$/.exec(err);
    const rule = m ? RULES.find((r) => r.path.test(m[1])) : undefined;
    // ulimit and label errors point inside the value: show the whole entry the user typed.
    const at = m && rule ? m[1].replace(/^(\/options\/(?:ulimits|labels)\/[^/]+).*$/, '$1') : '';
    const text = rule ? `${rule.flag}${show(pointerValue(body, at))}: ${rule.must}` : err;
    if (rule) mapped++;
    if (!seen.has(text)) parts.push(text);
    seen.add(text);
  }
  if (mapped === 0) return e;
  return new UsageError(parts.join('; '), { cause: e, details: { errors } });
}
