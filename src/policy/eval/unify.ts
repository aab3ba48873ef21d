/**
 * Unification: a term against a value (binding the term's unbound variables in the frame, undone
 * when the continuation returns), and two terms against each other.
 */
import type { Term } from '../ast.js';
import { RObject, equal, keyOf, type Value } from '../value.js';
import type { Evaluator } from './evaluator.js';
import { unbound, type Frame, type K } from './frame.js';

export function unifyTerms(ev: Evaluator, a: Term, b: Term, f: Frame, k: K): boolean {
  if (!unbound(a, f)) return ev.evalTerm(a, f, (av) => unifyValue(ev, b, av, f, k));
  if (!unbound(b, f)) return ev.evalTerm(b, f, (bv) => unifyValue(ev, a, bv, f, k));
  if (a.type === 'array' && b.type === 'array') {
    if (a.items.length !== b.items.length) return false;
    return unifyPairs(ev, a.items, b.items, 0, f, k);
  }
  if (a.type === 'object' && b.type === 'object') {
    if (a.items.length !== b.items.length) return false;
    const bk = new Map<unknown, Term>();
    for (const [kt, vt] of b.items) {
      const kv = ev.firstValue(kt, f);
      if (kv === undefined) return false;
      bk.set(keyOf(kv), vt);
    }
    const as: Term[] = [];
    const bs: Term[] = [];
    for (const [kt, vt] of a.items) {
      const kv = ev.firstValue(kt, f);
      const other = kv === undefined ? undefined : bk.get(keyOf(kv));
      if (!other) return false;
      as.push(vt);
      bs.push(other);
    }
    return unifyPairs(ev, as, bs, 0, f, k);
  }
  if (a.type === 'var' && b.type === 'var')
    throw ev.error('eval_type_error', `cannot unify unbound vars ${a.name} and ${b.name}`, a.loc);
  return false;
}

function unifyPairs(ev: Evaluator, as: Term[], bs: Term[], i: number, f: Frame, k: K): boolean {
  if (i === as.length) return k();
  // prefer a pair that can be decided now
  for (let j = i; j < as.length; j++) {
    if (!unbound(as[j], f) || !unbound(bs[j], f)) {
      if (j !== i) {
        const as2 = [...as];
        const bs2 = [...bs];
        [as2[i], as2[j]] = [as2[j], as2[i]];
        [bs2[i], bs2[j]] = [bs2[j], bs2[i]];
        return unifyTerms(ev, as2[i], bs2[i], f, () => unifyPairs(ev, as2, bs2, i + 1, f, k));
      }
      break;
    }
  }
  return unifyTerms(ev, as[i], bs[i], f, () => unifyPairs(ev, as, bs, i + 1, f, k));
}

export function unifyValue(ev: Evaluator, t: Term, v: Value, f: Frame, k: K): boolean {
  switch (t.type) {
    case 'var': {
      const cur = f[t.slot];
      if (cur !== undefined) return equal(cur, v) ? k() : false;
      f[t.slot] = v;
      try {
        return k();
      } finally {
        f[t.slot] = undefined;
      }
    }
    case 'scalar':
    case 'const':
      return equal(t.value, v) ? k() : false;
    case 'array':
      if (!Array.isArray(v) || v.length !== t.items.length) return false;
      return unifyArray(ev, t.items, v, 0, f, k);
    case 'object': {
      if (!(v instanceof RObject) || v.size !== t.items.length) return false;
      const vals: Value[] = [];
      const pats: Term[] = [];
      for (const [kt, vt] of t.items) {
        const kv = ev.firstValue(kt, f);
        if (kv === undefined) return false;
        const x = v.get(kv);
        if (x === undefined) return false;
        vals.push(x);
        pats.push(vt);
      }
      return unifyArray(ev, pats, vals, 0, f, k);
    }
    default:
      return ev.evalTerm(t, f, (tv) => (equal(tv, v) ? k() : false));
  }
}

function unifyArray(ev: Evaluator, items: Term[], v: Value[], i: number, f: Frame, k: K): boolean {
  if (i === items.length) return k();
  return unifyValue(ev, items[i], v[i], f, () => unifyArray(ev, items, v, i + 1, f, k));
}
