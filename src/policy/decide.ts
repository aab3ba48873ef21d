/**
 * The decision path: what moat's request hook calls in every CLI process. Loads policies, compiles
 * them (or reads the compiled form from the on-disk cache), loads only the builtin families the
 * policy calls, and returns a function from input to decision. Importing this module loads the
 * evaluator only; the parser and compiler are loaded on a cache miss.
 *
 *   const policy = await loadPolicy(['policies/'], { query: 'data.moat.authz.decision' });
 *   policy.decide(input); // the query's value as plain JSON, or undefined
 *
 * The cache (`$XDG_CACHE_HOME/moat/policy/<hash>.bin`, else `$HOME/.cache/moat/policy/`) is keyed
 * by the format version, this engine build and V8's version (serial.ts), the options, the query and
 * every module's file name and text; an entry stores that key in full and is used only if it matches exactly (the hash only
 * names the file). Entries are written atomically (temporary file + rename); an unreadable, stale
 * or corrupt entry is ignored and the policy compiled again.
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { loadBuiltins } from './builtins/families.js';
import type { CompiledPolicy } from './compile-policy.js';
import type { RuleNode } from './compiler.js';
import type { PolicyTree } from './eval.js';
import { limitsFromEnv, type Limits } from './limits.js';
import { loadPaths } from './loader.js';
import { PreparedQuery, type EvalOptions, type ResultSet } from './prepared.js';
import { decode, encode } from './serial.js';
import { fromJSON, toJSON } from './value.js';

/** Bump when the shape of compiled policies changes (the engine build is part of the key too). */
const CACHE_FORMAT = 'moat-policy-cache-2';

export interface LoadPolicyOptions {
  /** Default `data.moat.authz.decision`. */
  query?: string;
  /**
   * Compile cache: true (default) for `$XDG_CACHE_HOME/moat/policy` (or `~/.cache/moat/policy`),
   * a directory, or false to always compile.
   */
  cache?: boolean | string;
  /** Which .rego files to load; default: all but `*_test.rego`. */
  include?: (file: string) => boolean;
  /** Read modules as Rego v0. */
  v0Compatible?: boolean;
  /** Builtin errors abort evaluation. */
  strictBuiltinErrors?: boolean;
  /** Environment for the default cache directory and limits (tests). */
  env?: NodeJS.ProcessEnv;
  /**
   * Bounds of each decision (see limits.ts); default `MOAT_POLICY_MAX_STEPS` /
   * `MOAT_POLICY_TIMEOUT_MS` from `env`, else DEFAULT_LIMITS. A decision past them throws
   * eval_cancel_error (moat's router: POLICY_ERROR, the request is denied).
   */
  limits?: Limits | false;
}

export interface LoadedPolicy {
  readonly query: string;
  /** True when the compiled policy came from the cache. */
  readonly cached: boolean;
  /** The value of the query's first expression for `input`, as plain JSON (sets as arrays), or undefined. */
  decide(input: unknown): unknown;
  /** OPA-shaped result set, like PreparedQuery.eval. */
  eval(input: unknown, opts?: EvalOptions): ResultSet;
}

/** `$XDG_CACHE_HOME/moat/policy`, else `$HOME/.cache/moat/policy`; undefined without either. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'moat', 'policy');
  if (env.HOME && isAbsolute(env.HOME)) return join(env.HOME, '.cache', 'moat', 'policy');
  return undefined;
}

/** Identifies this engine build: a rebuilt or upgraded moat never reads an older build's cache. */
function buildId(): string {
  try {
    const st = statSync(decodeURIComponent(new URL(import.meta.url).pathname));
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

/** Everything the compiled form depends on, as one string. */
function cacheKey(sources: { file: string; text: string }[], query: string, v0: boolean): string {
  return JSON.stringify([
    CACHE_FORMAT,
    buildId(),
    process.versions.v8,
    query,
    v0,
    sources.map((s) => [s.file, s.text]),
  ]);
}

/**
 * A file name for the key, not a check (the key is compared in full). sha256 from node:crypto,
 * which the CLI has loaded already: hashing the ~23 KB key in JavaScript took ~2 ms of every
 * command (the loop runs once per process, never optimised).
 */
function hashName(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** Entries kept per cache directory; older ones are removed when a new one is written. */
const MAX_ENTRIES = 16;
let tmpCounter = 0;

interface CacheEntry {
  format: string;
  key: string;
  policy: CompiledPolicy;
}

function readCache(file: string, key: string): CompiledPolicy | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    const e = decode(bytes) as CacheEntry;
    if (typeof e !== 'object' || e === null) return undefined;
    if (e.format !== CACHE_FORMAT || e.key !== key) return undefined;
    const p = e.policy;
    if (!p || !(p.functions instanceof Map) || !p.root?.children || !Array.isArray(p.query?.body))
      return undefined;
    return p;
  } catch {
    return undefined; // corrupt: compile again (and overwrite)
  }
}

function writeCache(dir: string, file: string, entry: CacheEntry): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, encode(entry), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    prune(dir);
  } catch {
    // a read-only or full disk only costs the next process a compile
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
  }
}

/**
 * Keeps the newest MAX_ENTRIES entries (edited policies and new builds leave old ones behind), and
 * removes the JSON entries of the previous format (`.json`), which nothing reads any more.
 */
function prune(dir: string): void {
  const names = readdirSync(dir);
  for (const f of names.filter((n) => /^[0-9a-f]{16}\.json$/.test(n))) {
    try {
      unlinkSync(join(dir, f));
    } catch {
      /* another process removed it */
    }
  }
  const entries = names.filter((f) => f.endsWith('.bin'));
  if (entries.length <= MAX_ENTRIES) return;
  const byAge = entries.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { f } of byAge.slice(MAX_ENTRIES)) {
    try {
      unlinkSync(join(dir, f));
    } catch {
      /* another process removed it */
    }
  }
}

/** The evaluator's view of a compiled policy. */
export function treeOf(p: CompiledPolicy): PolicyTree {
  return {
    root: p.root,
    modules: p.modules,
    env: { functions: p.functions },
    findNode(path: string[]): RuleNode | undefined {
      let n: RuleNode | undefined = p.root;
      for (const s of path) {
        n = n.children.get(s);
        if (!n) return undefined;
      }
      return n;
    },
  };
}

export async function loadPolicy(paths: string[], opts: LoadPolicyOptions = {}): Promise<LoadedPolicy> {
  const query = opts.query ?? 'data.moat.authz.decision';
  const include = opts.include ?? ((f: string) => !/_test\.rego$/.test(f));
  const { modules, data } = await loadPaths(paths, { include });
  const v0 = !!opts.v0Compatible;
  const dir =
    opts.cache === false
      ? undefined
      : typeof opts.cache === 'string'
        ? opts.cache
        : defaultCacheDir(opts.env);
  const key = dir ? cacheKey(modules, query, v0) : '';
  const file = dir ? join(dir, hashName(key) + '.bin') : '';
  let policy = dir ? readCache(file, key) : undefined;
  const cached = policy !== undefined;
  if (!policy) {
    const { compilePolicy } = await import('./compile-policy.js');
    policy = compilePolicy(modules, query, { v0Compatible: v0 });
    if (dir) writeCache(dir, file, { format: CACHE_FORMAT, key, policy });
  }
  await loadBuiltins(policy.builtins);
  const prepared = new PreparedQuery(treeOf(policy), fromJSON(data), policy.query, {
    strictBuiltinErrors: opts.strictBuiltinErrors,
    limits: opts.limits ?? limitsFromEnv(opts.env),
  });
  return {
    query,
    cached,
    decide: (input) => {
      const v = prepared.decide(input);
      return v === undefined ? undefined : toJSON(v);
    },
    eval: (input, o) => prepared.eval(input, o),
  };
}
