/**
 * Refs and data: walking a value along a ref's keys (iterating where a key is an unbound
 * variable), and the data document, where rules, base documents and `with data…` overrides meet.
 */
import type { Term } from '../ast.js';
import type { RuleNode } from '../compiler.js';
import { RObject, type Value } from '../value.js';
import { NOT_CACHED } from './cache.js';
import type { Evaluator } from './evaluator.js';
import { lookup, unbound, type Frame, type VK } from './frame.js';
import { applyOverrides, mergeInto, setPath } from './paths.js';
import { memoized } from './static.js';

export function evalRef(ev: Evaluator, terms: Term[], f: Frame, k: VK): boolean {
  const head = terms[0];
  if (head.type === 'var') {
    if (head.slot < 0) {
      if (head.name === 'input') return ev.input === undefined ? false : walk(ev, ev.input, terms, 1, f, k);
      if (head.name === 'data') return evalData(ev, ev.tree.root, ev.data, [], terms, 1, f, k);
      throw ev.error('eval_type_error', `unknown global ${head.name}`, head.loc);
    }
    const v = f[head.slot];
    if (v === undefined) throw ev.error('eval_type_error', `var ${head.name} is unbound`, head.loc);
    return walk(ev, v, terms, 1, f, k);
  }
  return ev.evalTerm(head, f, (v) => walk(ev, v, terms, 1, f, k));
}

function walk(ev: Evaluator, v: Value, terms: Term[], i: number, f: Frame, k: VK): boolean {
  if (i === terms.length) return k(v);
  const key = terms[i];
  if (key.type === 'scalar' || key.type === 'const') {
    const c = lookup(v, key.value);
    return c === undefined ? false : walk(ev, c, terms, i + 1, f, k);
  }
  if (unbound(key, f)) {
    if (v === null || typeof v !== 'object') return false;
    return ev.iterate(v, (kk, vv) => ev.unifyValue(key, kk, f, () => walk(ev, vv, terms, i + 1, f, k)));
  }
  return ev.evalTerm(key, f, (kv) => {
    const c = lookup(v, kv);
    return c === undefined ? false : walk(ev, c, terms, i + 1, f, k);
  });
}

function overrideAt(ev: Evaluator, path: string[]): Value | undefined | typeof NOT_CACHED {
  const o = ev.dataOverrides!;
  const key = path.join('\u0000');
  return o.has(key) ? o.get(key) : NOT_CACHED;
}

function evalData(
  ev: Evaluator,
  node: RuleNode | undefined,
  base: Value | undefined,
  path: string[],
  terms: Term[],
  i: number,
  f: Frame,
  k: VK,
): boolean {
  if (ev.dataOverrides) {
    const o = overrideAt(ev, path);
    if (o !== NOT_CACHED) return walk(ev, o as Value, terms, i, f, k);
    if (!node || !node.virtual) {
      const patched = patchBase(ev, base, path);
      return patched === undefined ? false : walk(ev, patched, terms, i, f, k);
    }
  }
  if (!node || (!node.virtual && !ev.dataOverrides))
    return base === undefined ? false : walk(ev, base, terms, i, f, k);
  if (node.kind !== undefined || i === terms.length) {
    const v = nodeValue(ev, node, base, path);
    return v === undefined ? false : walk(ev, v, terms, i, f, k);
  }
  const key = terms[i];
  const step = (kv: Value): boolean => {
    if (typeof kv !== 'string') return walk(ev, base ?? null, terms, i, f, k);
    const child = node.children.get(kv);
    const cb = base instanceof RObject ? base.get(kv) : undefined;
    return evalData(ev, child, cb, [...path, kv], terms, i + 1, f, k);
  };
  if (key.type === 'scalar' || key.type === 'const') return step(key.value);
  if (unbound(key, f)) {
    const names = new Set<string>();
    for (const [n, c] of node.children) if (c.virtual) names.add(n);
    if (base instanceof RObject) for (const kk of base.keys()) if (typeof kk === 'string') names.add(kk);
    for (const n of [...names].sort()) {
      if (--ev.fuel < 0) ev.refuel();
      if (ev.unifyValue(key, n, f, () => step(n))) return true;
    }
    return false;
  }
  return ev.evalTerm(key, f, step);
}

/** The full value of a data node: rules merged with children and base documents. Cached per evaluation. */
export function nodeValue(
  ev: Evaluator,
  node: RuleNode,
  base: Value | undefined,
  path: string[],
): Value | undefined {
  const cached = ev.vcache.get(node);
  if (cached !== NOT_CACHED) return cached;
  let v: Value | undefined;
  if (node.kind === 'function') {
    const all = [...node.rules, ...(node.defaultRule ? [node.defaultRule] : [])];
    v = all.every((r) => r.head.args!.length === 0)
      ? ev.callFunction('data.' + node.path.join('.'), [], all[0].loc)
      : undefined;
  } else if (node.kind !== undefined) {
    v = node.children.size === 0 ? memoized(ev, node, ev.nodeId(node), ruleValueOf) : ev.ruleValue(node);
    if (node.children.size && (v === undefined || v instanceof RObject)) {
      const o = v instanceof RObject ? v.clone() : new RObject();
      let any = v !== undefined;
      for (const [name, c] of node.children) {
        if (!c.virtual) continue;
        const cv = nodeValueOrOverride(ev, c, undefined, [...path, name]);
        if (cv !== undefined) {
          any = true;
          mergeInto(o, name, cv, c);
        }
      }
      v = any ? o : undefined;
    }
  } else {
    const o = base instanceof RObject ? base.clone() : new RObject();
    for (const [name, c] of node.children) {
      if (!c.virtual) continue;
      const cv = nodeValueOrOverride(ev, c, base instanceof RObject ? base.get(name) : undefined, [
        ...path,
        name,
      ]);
      if (cv !== undefined) o.set(name, cv);
    }
    if (ev.dataOverrides) applyOverrides(o, path, ev.dataOverrides);
    v = o;
  }
  ev.vcache.set(node, v);
  return v;
}

function ruleValueOf(ev: Evaluator, node: RuleNode): Value | undefined {
  return ev.ruleValue(node);
}

/** Applies `with data.…` overrides below `path` to a base document. */
function patchBase(ev: Evaluator, base: Value | undefined, path: string[]): Value | undefined {
  const prefix = path.join('\u0000');
  let out = base;
  for (const [key, v] of ev.dataOverrides!) {
    if (path.length ? !key.startsWith(prefix + '\u0000') : key === '') continue;
    const rel = key.split('\u0000').slice(path.length);
    out = setPath(out, rel, v);
  }
  return out;
}

function nodeValueOrOverride(
  ev: Evaluator,
  c: RuleNode,
  base: Value | undefined,
  path: string[],
): Value | undefined {
  if (ev.dataOverrides) {
    const o = overrideAt(ev, path);
    if (o !== NOT_CACHED) return o as Value;
  }
  return nodeValue(ev, c, base, path);
}
