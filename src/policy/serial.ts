/**
 * A JSON encoding for compiled policies (the on-disk compile cache): plain objects and arrays,
 * Maps, Rego values (RObject, RSet, bigint) and shared or cyclic references (a rule and its module
 * point at each other) survive a round trip. Objects seen more than once are written once with an
 * `$id` and referred to by `{"$r": id}` afterwards. Source locations, the bulk of a compiled
 * policy, are written compactly as `{"$l": [row, col, start, end, fileIndex]}`.
 */
import { RObject, RSet } from './value.js';

type J = unknown;

export function encode(root: unknown): string {
  const seen = new Map<object, number>();
  const count = (x: unknown): void => {
    if (typeof x !== 'object' || x === null) return;
    const n = seen.get(x);
    seen.set(x, (n ?? 0) + 1);
    if (n !== undefined) return;
    if (x instanceof Map || x instanceof RObject) {
      for (const [k, v] of x instanceof Map ? x : x.entries()) {
        count(k);
        count(v);
      }
    } else if (x instanceof RSet) for (const v of x.map.values()) count(v);
    else if (Array.isArray(x)) for (const v of x) count(v);
    else for (const k in x) count((x as Record<string, unknown>)[k]);
  };
  count(root);
  const ids = new Map<object, number>();
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  let next = 0;
  const enc = (x: unknown): J => {
    switch (typeof x) {
      case 'bigint':
        return { $b: x.toString() };
      case 'number':
        return Number.isFinite(x) ? x : { $n: String(x) };
      case 'undefined':
        return { $u: 1 };
      case 'function':
      case 'symbol':
        throw new Error('cannot encode ' + typeof x);
      case 'boolean':
      case 'object':
      case 'string':
        break;
    }
    if (typeof x !== 'object' || x === null) return x;
    const id = ids.get(x);
    if (id !== undefined) return { $r: id };
    if (isLocation(x)) {
      let fi = fileIndex.get(x.file);
      if (fi === undefined) fileIndex.set(x.file, (fi = files.push(x.file) - 1));
      return { $l: [x.row, x.col, x.start, x.end, fi] };
    }
    let out: Record<string, J>;
    if (seen.get(x)! > 1) {
      out = { $id: next };
      ids.set(x, next++);
    } else out = {};
    if (x instanceof Map) out.$m = [...x].map(([k, v]) => [enc(k), enc(v)]);
    else if (x instanceof RObject) out.$o = x.entries().map(([k, v]) => [enc(k), enc(v)]);
    else if (x instanceof RSet) out.$s = [...x.map.values()].map(enc);
    else if (Array.isArray(x)) {
      if (!('$id' in out)) return x.map(enc);
      out.$a = x.map(enc);
    } else {
      for (const k in x) {
        const v = (x as Record<string, unknown>)[k];
        if (v !== undefined) out[k.startsWith('$') ? '$' + k : k] = enc(v);
      }
      return out;
    }
    return out;
  };
  const body = enc(root);
  return JSON.stringify({ files, body });
}

interface Loc {
  file: string;
  row: number;
  col: number;
  start: number;
  end: number;
}

function isLocation(x: object): x is Loc {
  const o = x as Record<string, unknown>;
  return (
    typeof o.file === 'string' &&
    typeof o.row === 'number' &&
    typeof o.end === 'number' &&
    Object.keys(o).length === 5 &&
    typeof o.col === 'number' &&
    typeof o.start === 'number'
  );
}

export function decode(text: string): unknown {
  const byId: unknown[] = [];
  const { files, body } = JSON.parse(text) as { files: string[]; body: J };
  // One look at an object's first key tells its kind: the encoder writes a marker (`$l`, `$r`,
  // `$b`, `$n`, `$u`, or `$id` before `$m`/`$o`/`$s`/`$a`/fields) first, and escapes the `$` of
  // a plain object's own keys as `$$`. Decoding is on the start-up path of every command.
  const dec = (x: J): unknown => {
    if (typeof x !== 'object' || x === null) return x;
    if (Array.isArray(x)) {
      const a = new Array<unknown>(x.length);
      for (let i = 0; i < x.length; i++) a[i] = dec(x[i] as J);
      return a;
    }
    const o = x as Record<string, J>;
    let first: string | undefined;
    for (const k in o) {
      first = k;
      break;
    }
    if (first === undefined) return {};
    if (first.charCodeAt(0) !== 36 /* $ */) return plain(o, undefined);
    switch (first) {
      case '$l': {
        const l = o.$l as number[];
        return { file: files[l[4]], row: l[0], col: l[1], start: l[2], end: l[3] };
      }
      case '$r':
        return byId[o.$r as number];
      case '$b':
        return BigInt(o.$b as string);
      case '$n':
        return Number(o.$n);
      case '$u':
        return undefined;
      case '$id':
        return tagged(o, o.$id as number);
      default:
        return tagged(o, undefined);
    }
  };
  const tagged = (o: Record<string, J>, id: number | undefined): unknown => {
    if ('$m' in o) {
      const m = new Map();
      if (id !== undefined) byId[id] = m;
      for (const [k, v] of o.$m as J[][]) m.set(dec(k), dec(v));
      return m;
    }
    if ('$o' in o) {
      const r = new RObject();
      if (id !== undefined) byId[id] = r;
      for (const [k, v] of o.$o as J[][]) r.set(dec(k) as never, dec(v) as never);
      return r;
    }
    if ('$s' in o) {
      const r = new RSet();
      if (id !== undefined) byId[id] = r;
      for (const v of o.$s as J[]) r.add(dec(v) as never);
      return r;
    }
    if ('$a' in o) {
      const a: unknown[] = [];
      if (id !== undefined) byId[id] = a;
      for (const v of o.$a as J[]) a.push(dec(v));
      return a;
    }
    return plain(o, id);
  };
  const plain = (o: Record<string, J>, id: number | undefined): unknown => {
    const out: Record<string, unknown> = {};
    if (id !== undefined) byId[id] = out;
    for (const k in o) {
      if (k === '$id') continue;
      out[k.charCodeAt(0) === 36 && k.charCodeAt(1) === 36 ? k.slice(1) : k] = dec(o[k]);
    }
    return out;
  };
  return dec(body);
}
