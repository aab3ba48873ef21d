/**
 * The functions a template may call: Go's builtins (and, or, not, len, index, slice, eq, ne, lt,
 * le, gt, ge, print, printf, println) and docker's (json, split, join, title, lower, upper, pad,
 * truncate), each declared once with its arity. `and` and `or` are evaluated lazily by exec.ts;
 * their entries here are for the parser's check and the arity. HEADER_FUNCS are docker's
 * stand-ins used when a `table` format prints its header row (they pass the header through).
 */
import { FuncError } from './errors.js';
import { MAX_PAD, sprint, sprintf, sprintln } from './printf.js';
import { goType, isMap, own, truth } from './values.js';

export type TemplateFunc = (args: unknown[]) => unknown;

export interface FuncDef {
  fn: TemplateFunc;
  /** Arity: at least `min`, at most `max` arguments. */
  min: number;
  max: number;
}

const def = (min: number, max: number, fn: TemplateFunc): FuncDef => ({ fn, min, max });
const ANY = Infinity;

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) throw new FuncError('invalid value; expected string');
  throw new FuncError(`wrong type for value; expected string; got ${goType(v)}`);
}

function int(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (v === undefined || v === null) throw new FuncError('invalid value; expected int');
  throw new FuncError(`wrong type for value; expected int; got ${goType(v)}`);
}

function indexArg(i: unknown, len: number, cap = len): number {
  if (i === undefined || i === null) throw new FuncError('cannot index slice/array with nil');
  if (typeof i !== 'number' || !Number.isInteger(i))
    throw new FuncError(`cannot index slice/array with type ${goType(i)}`);
  if (i < 0 || i > cap) throw new FuncError(`index out of range: ${i}`);
  return i;
}

function index(args: unknown[]): unknown {
  let item = args[0];
  if (item === undefined || item === null) throw new FuncError('index of untyped nil');
  for (const i of args.slice(1)) {
    if (item === undefined || item === null) throw new FuncError('index of nil pointer');
    if (Array.isArray(item)) {
      const x = indexArg(i, item.length);
      if (x >= item.length) throw new FuncError(`index out of range: ${x}`);
      item = item[x] as unknown;
    } else if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      const x = indexArg(i, bytes.length);
      if (x >= bytes.length) throw new FuncError(`index out of range: ${x}`);
      item = bytes[x];
    } else if (isMap(item)) {
      if (typeof i !== 'string') throw new FuncError(`value has type ${goType(i)}; should be string`);
      item = own(item, i);
    } else throw new FuncError(`can't index item of type ${goType(item)}`);
  }
  return item;
}

function slice(args: unknown[]): unknown {
  const item = args[0];
  if (item === undefined || item === null) throw new FuncError('slice of untyped nil');
  if (args.length > 4) throw new FuncError(`too many slice indexes: ${args.length - 1}`);
  if (typeof item !== 'string' && !Array.isArray(item))
    throw new FuncError(`can't slice item of type ${goType(item)}`);
  if (typeof item === 'string' && args.length === 4) throw new FuncError('cannot 3-index slice a string');
  const len = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
  const idx = args.slice(1).map((a) => indexArg(a, len));
  const lo = idx[0] ?? 0;
  const hi = idx[1] ?? len;
  if (lo > hi) throw new FuncError(`invalid slice index: ${lo} > ${hi}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(lo, hi).toString('utf8');
  return item.slice(lo, hi);
}

/** The kind eq and lt compare by: numbers with numbers, strings with strings, bools with bools. */
function kind(v: unknown): 'number' | 'string' | 'bool' | 'nil' | 'other' {
  if (v === undefined || v === null) return 'nil';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return 'other';
}

function eq(args: unknown[]): boolean {
  const [a, ...rest] = args;
  if (!rest.length) throw new FuncError('missing argument for comparison');
  const ka = kind(a);
  for (const b of rest) {
    const kb = kind(b);
    if (ka !== kb) {
      if (ka !== 'nil' && kb !== 'nil') throw new FuncError('incompatible types for comparison');
      continue;
    }
    if (ka === 'other') throw new FuncError(`non-comparable type ${goType(a)}`);
    if (a === b || (ka === 'nil' && kb === 'nil')) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'bool' || ka === 'nil' || ka === 'other' || kb === 'bool' || kb === 'nil' || kb === 'other')
    throw new FuncError('invalid type for comparison');
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  return (a as string | number) < (b as string | number);
}

function len(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goType(v)}`);
}

/** docker's `json`: encoding/json without HTML escaping, no trailing newline. */
export function toJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v) ?? 'null';
  return s.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** strings.Title: the first letter of each word in upper case. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_])(\p{L})/gu, (_, pre: string, c: string) => pre + c.toUpperCase());
}

function join(a: unknown, sep: unknown): string {
  if (!Array.isArray(a)) throw new FuncError(`wrong type for value; expected []string; got ${goType(a)}`);
  return a.map((x) => (typeof x === 'string' ? x : sprint([x]))).join(str(sep));
}

function split(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep);
}

function pad(s: unknown, before: unknown, after: unknown): string {
  const b = int(before);
  const a = int(after);
  if (b > MAX_PAD || a > MAX_PAD) throw new FuncError(`pad: more than ${MAX_PAD} spaces`);
  return ' '.repeat(Math.max(0, b)) + str(s) + ' '.repeat(Math.max(0, a));
}

function truncate(s: unknown, n: unknown): string {
  const r = [...str(s)];
  const l = int(n);
  return r.length < l ? r.join('') : r.slice(0, Math.max(0, l)).join('');
}

export const FUNCS: Readonly<Record<string, FuncDef>> = {
  and: def(1, ANY, (a) => a.find((x) => !truth(x)) ?? a[a.length - 1]),
  or: def(1, ANY, (a) => a.find((x) => truth(x)) ?? a[a.length - 1]),
  not: def(1, 1, (a) => !truth(a[0])),
  len: def(1, 1, (a) => len(a[0])),
  index: def(1, ANY, index),
  slice: def(1, ANY, slice),
  eq: def(1, ANY, eq),
  ne: def(2, 2, (a) => !eq(a)),
  lt: def(2, 2, (a) => lt(a[0], a[1])),
  le: def(2, 2, (a) => lt(a[0], a[1]) || eq(a)),
  gt: def(2, 2, (a) => !lt(a[0], a[1]) && !eq(a)),
  ge: def(2, 2, (a) => !lt(a[0], a[1])),
  print: def(0, ANY, sprint),
  printf: def(1, ANY, (a) => sprintf(str(a[0]), a.slice(1))),
  println: def(0, ANY, sprintln),
  json: def(1, 1, (a) => toJson(a[0])),
  split: def(2, 2, (a) => split(str(a[0]), str(a[1]))),
  join: def(2, 2, (a) => join(a[0], a[1])),
  title: def(1, 1, (a) => title(str(a[0]))),
  lower: def(1, 1, (a) => str(a[0]).toLowerCase()),
  upper: def(1, 1, (a) => str(a[0]).toUpperCase()),
  pad: def(3, 3, (a) => pad(a[0], a[1], a[2])),
  truncate: def(2, 2, (a) => truncate(a[0], a[1])),
};

/** docker's HeaderFunctions: in a table's header row these return the header they are given. */
export const HEADER_FUNCS: Readonly<Record<string, FuncDef>> = Object.fromEntries(
  (
    [
      ['json', 1],
      ['split', 2],
      ['join', 2],
      ['title', 1],
      ['lower', 1],
      ['upper', 1],
      ['pad', 3],
      ['truncate', 2],
    ] as const
  ).map(([name, n]) => [name, def(n, n, (a) => a[0])]),
);
