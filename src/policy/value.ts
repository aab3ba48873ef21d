/**
 * Rego values. Scalars and arrays are plain JS values so the hot path allocates little; objects and
 * sets are small classes keyed by a canonical key so that any value can be a key or a member.
 * Iteration is in OPA's sort order (sorted lazily, cached), because results built by iterating an
 * object or set must come out in the same order as OPA's.
 */
export type Value = null | boolean | number | bigint | string | Value[] | RObject | RSet;
type Key = string | number | bigint | boolean | null;

/**
 * Numbers: IEEE doubles, except integers beyond ±2^53 that come from integer literals or integer
 * arithmetic, which are exact `bigint`s (OPA keeps such numbers exact). `bignum` turns a bigint
 * back into a double when it is safe, so an integer has one representation in the common range.
 */
export function bignum(b: bigint): number | bigint {
  return b >= -MAX_SAFE && b <= MAX_SAFE ? Number(b) : b;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** True for Rego numbers (either representation). */
export function isNumber(v: Value | undefined): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** A value usable as a Map key: primitives as themselves, composites as a canonical string. */
export function keyOf(v: Value): Key {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'string' && v.charCodeAt(0) === 0) return '\0s' + v;
    // an unsafe integer held as a double keys like the same bigint
    if (typeof v === 'number' && !(v <= 9007199254740991 && v >= -9007199254740991) && Number.isInteger(v))
      return BigInt(v);
    return v;
  }
  return '\0' + canonical(v);
}

function canonical(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isInteger(v) && !Number.isSafeInteger(v) ? BigInt(v).toString() : String(v);
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
    case 'function':
    case 'object':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v instanceof RObject)
    return (
      '{' +
      v
        .sortedEntries()
        .map(([k, x]) => canonical(k) + ':' + canonical(x))
        .join(',') +
      '}'
    );
  return '<' + (v as RSet).sorted().map(canonical).join(',') + '>';
}

/**
 * The map of a lazy object until it is filled: never written (fill gives the object a map of its
 * own), so an input object the policy never reads costs no Map.
 */
const PENDING = new Map<Key, Value>();
/** The most keys of a lazy object that get() looks up by scanning them (see RObject.ks). */
const SMALL = 12;

export class RObject {
  private m: Map<Key, Value>;
  /**
   * The plain object of an object made by fromJSONLazy, until its entries are first needed: then
   * they are converted (nested objects lazily in turn) and this is cleared.
   */
  private src: Record<string, unknown> | undefined;
  /**
   * While `src` is set, once get() has looked into it: its keys (own enumerable ones, in for…in
   * order) and their converted values. A small object (at most SMALL keys) stays so: get() scans
   * them, and the map is made only when something else needs it (making a Map costs more than a
   * policy's few lookups in it; most input objects are small).
   */
  private ks: string[] | undefined = undefined;
  private vs: Value[] | undefined = undefined;
  /** Canonical key → the key as given, only for keys that are not their own canonical key (composites, …). */
  private orig: Map<Key, Value> | undefined = undefined;
  private sortedCache: [Value, Value][] | undefined = undefined;

  /** An empty object; `lazySrc` is for RObject.lazy only. */
  constructor(lazySrc?: Record<string, unknown>) {
    this.m = lazySrc === undefined ? new Map() : PENDING;
    this.src = lazySrc;
  }

  /** Canonical key (keyOf) → value. */
  get vals(): Map<Key, Value> {
    if (this.src !== undefined) this.fill();
    return this.m;
  }

  /** An object converted from the plain object `src` on first use (see fromJSONLazy). */
  static lazy(src: Record<string, unknown>): RObject {
    return new RObject(src);
  }

  /** Converts the entries of `src` into `ks` and `vs` (nested objects lazily in turn). */
  private split(): void {
    const x = this.src!;
    const ks: string[] = [];
    const vs: Value[] = [];
    for (const k in x) {
      if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
      let v = x[k] as Value;
      // strings, numbers and booleans are themselves (fromJSONLazy's answer, without the call)
      if (
        typeof v === 'object'
          ? v !== null
          : typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean'
      )
        v = fromJSONLazy(v);
      ks.push(k);
      vs.push(v);
    }
    this.ks = ks;
    this.vs = vs;
  }

  private fill(): void {
    if (this.ks === undefined) this.split();
    const ks = this.ks!;
    const vs = this.vs!;
    this.src = undefined;
    this.ks = this.vs = undefined;
    const m = (this.m = new Map());
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i];
      if (k.charCodeAt(0) !== 0) m.set(k, vs[i]);
      else this.set(k, vs[i]);
    }
  }

  static from(entries: Iterable<[Value, Value]>): RObject {
    const o = new RObject();
    for (const [k, v] of entries) o.set(k, v);
    return o;
  }
  static fromJS(obj: Record<string, Value>): RObject {
    const o = new RObject();
    for (const k of Object.keys(obj)) o.set(k, obj[k]);
    return o;
  }
  get size(): number {
    return this.vals.size;
  }
  get(k: Value): Value | undefined {
    // plain strings are their own keys (the common case: skip keyOf)
    if (typeof k === 'string' && k.charCodeAt(0) !== 0) {
      if (this.src === undefined) return this.m.get(k);
      let ks = this.ks;
      if (ks === undefined) {
        this.split();
        ks = this.ks!;
        if (ks.length > SMALL) {
          this.fill();
          return this.m.get(k);
        }
      }
      // (a key that starts with NUL is never equal to k)
      for (let i = 0; i < ks.length; i++) if (ks[i] === k) return this.vs![i];
      return undefined;
    }
    return this.vals.get(keyOf(k));
  }
  has(k: Value): boolean {
    return this.vals.has(keyOf(k));
  }
  set(k: Value, v: Value): void {
    const key = keyOf(k);
    if (key !== k) (this.orig ??= new Map()).set(key, k);
    this.vals.set(key, v);
    this.sortedCache = undefined;
  }
  /** set() for a string key known not to start with NUL (input conversion). */
  setPlain(k: string, v: Value): void {
    this.vals.set(k, v);
    this.sortedCache = undefined;
  }
  delete(k: Value): void {
    const key = keyOf(k);
    this.vals.delete(key);
    this.orig?.delete(key);
    this.sortedCache = undefined;
  }
  /** Entries in insertion order. */
  entries(): [Value, Value][] {
    const out: [Value, Value][] = [];
    // the map first: filling a lazy object records the keys that are not their own (orig)
    const vals = this.vals;
    const orig = this.orig;
    for (const [key, v] of vals) out.push([orig?.has(key) ? orig.get(key)! : (key as Value), v]);
    return out;
  }
  sortedEntries(): [Value, Value][] {
    if (!this.sortedCache) this.sortedCache = this.entries().sort((a, b) => compare(a[0], b[0]));
    return this.sortedCache;
  }
  keys(): Value[] {
    return this.sortedEntries().map((e) => e[0]);
  }
  clone(): RObject {
    const o = new RObject();
    for (const [k, v] of this.vals) o.m.set(k, v);
    if (this.orig) o.orig = new Map(this.orig);
    return o;
  }
}

export class RSet {
  readonly map = new Map<Key, Value>();
  private sortedCache: Value[] | undefined;

  static from(items: Iterable<Value>): RSet {
    const s = new RSet();
    for (const v of items) s.add(v);
    return s;
  }
  get size(): number {
    return this.map.size;
  }
  has(v: Value): boolean {
    return this.map.has(typeof v === 'string' && v.charCodeAt(0) !== 0 ? v : keyOf(v));
  }
  add(v: Value): void {
    const m = this.map;
    if (typeof v === 'string' && v.charCodeAt(0) !== 0) {
      // plain strings are their own keys and values (the common case: skip keyOf, one lookup)
      const n = m.size;
      m.set(v, v);
      if (m.size !== n) this.sortedCache = undefined;
      return;
    }
    const k = keyOf(v);
    if (!m.has(k)) {
      m.set(k, v);
      this.sortedCache = undefined;
    }
  }
  sorted(): Value[] {
    if (!this.sortedCache) this.sortedCache = [...this.map.values()].sort(compare);
    return this.sortedCache;
  }
}

const RANK = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5, set: 6 } as const;
export type TypeName = keyof typeof RANK;

export function typeName(v: Value): TypeName {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    case 'function':
    case 'object':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(v)) return 'array';
  return v instanceof RObject ? 'object' : 'set';
}

/** OPA's total order: null < boolean < number < string < array < object < set. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return RANK[ta] - RANK[tb];
  switch (ta) {
    case 'boolean':
      return a ? 1 : -1;
    case 'number':
      // mixed bigint/double comparisons are exact in JS
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 'string':
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 'array': {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 'object': {
      const x = (a as RObject).sortedEntries();
      const y = (b as RObject).sortedEntries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        let c = compare(x[i][0], y[i][0]);
        if (c !== 0) return c;
        c = compare(x[i][1], y[i][1]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 'set': {
      const x = (a as RSet).sorted();
      const y = (b as RSet).sorted();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 'null':
      break;
  }
  return 0;
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return (typeof a === 'bigint' && typeof b === 'number') ||
      (typeof a === 'number' && typeof b === 'bigint')
      ? a == b
      : false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof RObject) {
    if (!(b instanceof RObject) || a.size !== b.size) return false;
    for (const [k, v] of a.vals) {
      const w = b.vals.get(k);
      if (w === undefined || !equal(v, w)) return false;
    }
    return true;
  }
  if (!(b instanceof RSet) || a.size !== b.size) return false;
  for (const k of a.map.keys()) if (!b.map.has(k)) return false;
  return true;
}

/** Converts parsed JSON (or YAML) into a Value. Object keys stay strings. */
export function fromJSON(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
    case 'number':
    case 'string':
      return x;
    case 'bigint':
      return bignum(x);
    case 'function':
    case 'object':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(x)) return x.map(fromJSON);
  if (x instanceof RObject || x instanceof RSet) return x;
  if (x instanceof Date) return x.toISOString();
  const o = new RObject();
  for (const k in x as object) {
    if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
    const v = fromJSON((x as Record<string, unknown>)[k]);
    if (k.charCodeAt(0) !== 0) o.setPlain(k, v);
    else o.set(k, v);
  }
  return o;
}

/**
 * fromJSON, lazily: each object's entries are converted when the object is first read, so the
 * parts of a large input a policy never reads cost nothing. The plain objects must not change
 * while the result (or a Value taken from it) is in use.
 */
export function fromJSONLazy(x: unknown): Value {
  if (x === null || typeof x !== 'object' || x instanceof RObject || x instanceof RSet || x instanceof Date)
    return fromJSON(x);
  if (Array.isArray(x)) {
    const out: Value[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = fromJSONLazy(x[i]);
    return out;
  }
  return RObject.lazy(x as Record<string, unknown>);
}

/**
 * Converts a Value to plain JSON the way OPA serialises it: sets become sorted arrays, non-string
 * keys are stringified. Big integers become doubles unless `bigints` is set (then they stay
 * `bigint`; serialise those with `jsonText`).
 */
export function toJSON(v: Value, bigints = false): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' && !bigints ? Number(v) : v;
  if (Array.isArray(v)) return v.map((x) => toJSON(x, bigints));
  if (v instanceof RSet) return v.sorted().map((x) => toJSON(x, bigints));
  const out: Record<string, unknown> = {};
  for (const [k, x] of v.sortedEntries()) out[typeof k === 'string' ? k : stringify(k)] = toJSON(x, bigints);
  return out;
}

/** JSON.stringify that writes bigints as exact integers. */
export function jsonText(x: unknown, indent?: number | string): string {
  if (!hasBigint(x)) return JSON.stringify(x, null, indent);
  const marks: string[] = [];
  const text = JSON.stringify(
    x,
    (_k, y: unknown) => (typeof y === 'bigint' ? `\u0000big${marks.push(y.toString()) - 1}` : y),
    indent,
  );
  return text.replace(/"\\u0000big(\d+)"/g, (_m, i: string) => marks[Number(i)]);
}

function hasBigint(x: unknown): boolean {
  if (typeof x === 'bigint') return true;
  if (x === null || typeof x !== 'object') return false;
  if (Array.isArray(x)) return x.some(hasBigint);
  for (const k in x as Record<string, unknown>) if (hasBigint((x as Record<string, unknown>)[k])) return true;
  return false;
}

/** JSON text of a value, OPA style (sorted keys, sets as arrays, exact big integers). */
export function stringify(v: Value, indent?: number): string {
  return jsonText(toJSON(v, true), indent);
}

/** Rego literal syntax of a value, used in messages and by sprintf %v. */
export function toRegoString(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
    case 'function':
    case 'object':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (Array.isArray(v)) return '[' + v.map(toRegoString).join(', ') + ']';
  if (v instanceof RObject)
    return (
      '{' +
      v
        .sortedEntries()
        .map(([k, x]) => toRegoString(k) + ': ' + toRegoString(x))
        .join(', ') +
      '}'
    );
  if (v.size === 0) return 'set()';
  return '{' + v.sorted().map(toRegoString).join(', ') + '}';
}

/** Numbers print like Go's big.Float 'g' formatting for JSON numbers: integers without exponent. */
export function formatNumber(n: number): string {
  // below 1e21 String() writes integers without exponent, like toFixed(0) (and -0 as 0)
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  return String(n);
}

export function isTruthy(v: Value | undefined): boolean {
  return v !== undefined && v !== false;
}
