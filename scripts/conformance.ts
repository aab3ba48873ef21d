/**
 * Runs OPA-style conformance cases (JSON or YAML files with a `cases` list) from a directory given
 * on the command line and prints pass counts per folder. The cases are never committed here.
 *
 *   npx vite-node scripts/conformance.ts <dir> [--v1] [--filter substr] [--verbose] [--json] [--via-cache]
 *
 * --via-cache evaluates through the decision path instead (compilePolicy, the compile cache's
 * encode/decode round trip, PreparedQuery), to check that cached policies behave the same.
 *
 * Comparison follows OPA's runner: the query's bindings per solution are compared with
 * `want_result` (as a set when `sort_bindings`), `input_term` is parsed as Rego, errors are
 * matched by `want_error_code` and by `want_error` as a substring, `strict_error` turns on strict
 * builtin errors. Modules named `package query` (planner entrypoints in some copies) are skipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import yaml from 'js-yaml';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile-policy.js';
import { treeOf } from '../src/policy/decide.js';
import { PolicyEngine } from '../src/policy/engine.js';
import { PreparedQuery } from '../src/policy/prepared.js';
import { decode, encode } from '../src/policy/serial.js';
import { RegoError, RegoErrors } from '../src/policy/errors.js';
import { Compiler } from '../src/policy/compiler.js';
import { Evaluator } from '../src/policy/eval.js';
import { parseTermText } from '../src/policy/parser.js';
import { stringify, fromJSON, type Value } from '../src/policy/value.js';

interface Case {
  note: string;
  query: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_result?: Record<string, unknown>[];
  want_error_code?: string;
  want_error?: string;
  sort_bindings?: boolean;
  strict_error?: boolean;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(json|ya?ml)$/.test(name)) out.push(p);
  }
  return out;
}

/** Go's util.Compare on decoded JSON: null < boolean < number < string < array < object. */
function jsonCompare(a: unknown, b: unknown): number {
  const rank = (x: unknown): number =>
    x === null
      ? 0
      : typeof x === 'boolean'
        ? 1
        : typeof x === 'number'
          ? 2
          : typeof x === 'string'
            ? 3
            : Array.isArray(x)
              ? 4
              : 5;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 4) {
    const x = a as unknown[];
    const y = b as unknown[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const c = jsonCompare(x[i], y[i]);
      if (c) return c;
    }
    return x.length - y.length;
  }
  if (ra === 5) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const kx = Object.keys(x).sort();
    const ky = Object.keys(y).sort();
    for (let i = 0; i < Math.min(kx.length, ky.length); i++) {
      if (kx[i] !== ky[i]) return kx[i] < ky[i] ? -1 : 1;
      const c = jsonCompare(x[kx[i]], y[ky[i]]);
      if (c) return c;
    }
    return kx.length - ky.length;
  }
  return (a as number | string | boolean) < (b as number | string | boolean) ? -1 : a === b ? 0 : 1;
}

function canon(x: unknown): string {
  return stringify(fromJSON(x));
}

function inputOf(c: Case): Value | undefined {
  if (c.input_term !== undefined) {
    const t = parseTermText(c.input_term);
    const ev = new Evaluator(new Compiler([]).compile(), fromJSON({}));
    let v: Value | undefined;
    ev.evalTerm(t, [], (x) => ((v = x), true));
    return v;
  }
  return c.input === undefined ? undefined : fromJSON(c.input);
}

/** Like OPA's err.Error(): `file:row: code: message` per error. */
function opaText(e: RegoError): string {
  const l = e.location;
  return `${l ? `${l.file}:${l.row}: ` : ''}${e.code}: ${e.message}`;
}

function errInfo(e: unknown): { code: string; message: string } {
  if (e instanceof RegoErrors)
    return { code: e.errors[0]?.code ?? e.code, message: e.errors.map(opaText).join('\n') };
  if (e instanceof RegoError) return { code: e.code, message: opaText(e) };
  return { code: 'internal', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

export function runCase(c: Case, v1: boolean): string | undefined {
  const modules = (c.modules ?? [])
    .filter((m) => !/^package query\s/.test(m))
    .map((text, i) => ({ file: `test-${i}.rego`, text }));
  let got: Record<string, unknown>[];
  try {
    let q: Pick<PreparedQuery, 'evalValues'>;
    if (viaCache) {
      // the decision path: compile, round-trip through the compile cache's encoding, evaluate
      const compiled = decode(
        encode(compilePolicy(modules, c.query, { v0Compatible: !v1 })),
      ) as CompiledPolicy;
      q = new PreparedQuery(treeOf(compiled), fromJSON(c.data ?? {}), compiled.query, {
        strictBuiltinErrors: !!c.strict_error,
      });
    } else {
      const engine = new PolicyEngine(modules, c.data ?? {}, {
        v0Compatible: !v1,
        strictBuiltinErrors: !!c.strict_error,
      });
      q = engine.prepare(c.query);
    }
    got = [];
    q.evalValues(inputOf(c), { now: 1700000000000000000n }, (b) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of b) o[k] = JSON.parse(stringify(v));
      got.push(o);
    });
  } catch (e) {
    const { code, message } = errInfo(e);
    if (c.want_error_code || c.want_error) {
      if (c.want_error_code && c.want_error_code !== code)
        return `want error code ${c.want_error_code}, got ${code}: ${message}`;
      if (c.want_error && !message.includes(c.want_error))
        return `want error containing ${JSON.stringify(c.want_error)}, got ${code}: ${message}`;
      return undefined;
    }
    return `unexpected error ${code}: ${message}`;
  }
  if (c.want_error_code || c.want_error)
    return `want error ${c.want_error_code ?? ''} ${c.want_error ?? ''}, got result ${JSON.stringify(got)}`;
  if (c.want_result === undefined) return undefined;
  // OPA's runner sorts each binding's array (util.Compare on the JSON) when sort_bindings is set, and
  // compares the result sets as sets.
  if (c.sort_bindings)
    for (const o of got)
      for (const k of Object.keys(o)) if (Array.isArray(o[k])) (o[k] as unknown[]).sort(jsonCompare);
  const a = [...new Set(got.map(canon))].sort();
  const b = [...new Set(c.want_result.map(canon))].sort();
  if (a.length !== b.length || a.some((x, i) => x !== b[i]))
    return `want ${b.join(' ')}\n      got  ${a.join(' ')}`;
  return undefined;
}

const viaCache = process.argv.includes('--via-cache');

function main(): void {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--filter');
  if (!dir) {
    console.error('usage: conformance <dir> [--v1] [--filter substr] [--verbose] [--json]');
    process.exit(2);
  }
  const v1 = args.includes('--v1');
  const verbose = args.includes('--verbose');
  const fi = args.indexOf('--filter');
  const filter = fi >= 0 ? args[fi + 1] : undefined;
  const table = new Map<string, { pass: number; total: number }>();
  for (const file of files(dir)) {
    const text = readFileSync(file, 'utf8');
    const doc = (file.endsWith('.json') ? JSON.parse(text) : yaml.load(text)) as { cases?: Case[] } | null;
    const folder = relative(dir, dirname(file)) || basename(file).replace(/\.\w+$/, '');
    for (const c of doc?.cases ?? []) {
      if (filter && !c.note.includes(filter) && !file.includes(filter)) continue;
      let fail: string | undefined;
      try {
        fail = runCase(c, v1);
      } catch (e) {
        fail = 'harness: ' + String(e);
      }
      const row = table.get(folder) ?? { pass: 0, total: 0 };
      row.total++;
      if (!fail) row.pass++;
      else if (verbose) console.log(`FAIL ${c.note} (${relative(dir, file)})\n      ${fail}`);
      table.set(folder, row);
    }
  }
  let pass = 0;
  let total = 0;
  const rows = [...table.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (args.includes('--json')) console.log(JSON.stringify(Object.fromEntries(rows)));
  else
    for (const [k, r] of rows)
      console.log(`${r.pass === r.total ? 'ok  ' : 'FAIL'} ${k.padEnd(40)} ${r.pass}/${r.total}`);
  for (const [, r] of rows) {
    pass += r.pass;
    total += r.total;
  }
  console.log(`TOTAL ${pass}/${total} (${((100 * pass) / Math.max(1, total)).toFixed(1)}%)`);
}

main();
