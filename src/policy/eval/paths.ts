/**
 * Documents built at paths: `with` replacements of input and data (setPath, applyOverrides) and
 * the values of object rules and of data nodes with rule children (insertPath, mergeInto). Pure.
 */
import type { RuleNode } from '../compiler.js';
import { RegoError } from '../errors.js';
import { RObject, equal, type Value } from '../value.js';

/** `root` with `v` at `path` (copies the objects on the way; creates missing ones). */
export function setPath(root: Value | undefined, path: Value[], v: Value): Value {
  if (path.length === 0) return v;
  const o = root instanceof RObject ? root.clone() : new RObject();
  o.set(path[0], setPath(o.get(path[0]), path.slice(1), v));
  return o;
}

/** An object rule's value at `keys` in `o`: objects merged, other differing values a conflict. */
export function insertPath(o: RObject, keys: Value[], v: Value, conflict: () => RegoError): void {
  let cur = o;
  for (let i = 0; i < keys.length - 1; i++) {
    let next = cur.get(keys[i]);
    if (!(next instanceof RObject)) {
      if (next !== undefined) throw conflict();
      next = new RObject();
      cur.set(keys[i], next);
    }
    cur = next;
  }
  const last = keys[keys.length - 1];
  const prev = cur.get(last);
  if (prev !== undefined && !equal(prev, v)) {
    if (prev instanceof RObject && v instanceof RObject) {
      const m = prev.clone();
      for (const [kk, vv] of v.sortedEntries()) m.set(kk, vv);
      cur.set(last, m);
      return;
    }
    throw conflict();
  }
  cur.set(last, v);
}

/** A child node's value under `name` in its parent rule's object value. */
export function mergeInto(o: RObject, name: string, v: Value, node: RuleNode): void {
  const prev = o.get(name);
  if (prev instanceof RObject && v instanceof RObject) {
    const m = prev.clone();
    for (const [k, x] of v.sortedEntries()) m.set(k, x);
    o.set(name, m);
    return;
  }
  if (prev !== undefined && !equal(prev, v)) {
    const r = node.rules[0];
    throw new RegoError('eval_conflict_error', 'object keys must be unique', r?.loc);
  }
  o.set(name, v);
}

/** Writes the `with data.…` overrides below `path` into `o`, the value of the node at `path`. */
export function applyOverrides(o: RObject, path: string[], overrides: Map<string, Value>): void {
  const prefix = path.join('\u0000');
  for (const [key, v] of overrides) {
    const parts = key === '' ? [] : key.split('\u0000');
    if (parts.length <= path.length) continue;
    if (path.length && !key.startsWith(prefix + '\u0000')) continue;
    const rel = parts.slice(path.length);
    let cur = o;
    for (let i = 0; i < rel.length - 1; i++) {
      let n = cur.get(rel[i]);
      n = n instanceof RObject ? n.clone() : new RObject();
      cur.set(rel[i], n);
      cur = n;
    }
    cur.set(rel[rel.length - 1], v);
  }
}
