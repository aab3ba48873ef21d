/**
 * Bodies and expressions by the general path: `not`, `some … in`, `every`, and the hand-over of
 * bodies to their compiled form (tiers.ts) when evaluated from the start.
 */
import type { Body, Expr } from '../ast.js';
import { bodyFn } from '../tiers.js';
import { RObject, RSet, type Value } from '../value.js';
import type { Evaluator } from './evaluator.js';
import type { Frame, K } from './frame.js';

/** Evaluates a body from expression i (compiled by the tiers when i is 0). */
export function evalBody(ev: Evaluator, body: Body, i: number, f: Frame, k: K): boolean {
  if (i === 0) return bodyFn(body, ev)(ev, f, k);
  if (i === body.length) return k();
  if (i === body.length - 1) return evalExprGeneric(ev, body[i], f, k);
  return evalExprGeneric(ev, body[i], f, () => evalBody(ev, body, i + 1, f, k));
}

/** The general evaluation of one expression. */
export function evalExprGeneric(ev: Evaluator, e: Expr, f: Frame, k: K): boolean {
  if (e.with.length) return ev.evalWith(e, f, k);
  if (e.negated) {
    let found = false;
    evalExprInner(ev, e, f, () => (found = true));
    return found ? false : k();
  }
  return evalExprInner(ev, e, f, k);
}

/** One expression without its `with` modifiers and `not`. */
export function evalExprInner(ev: Evaluator, e: Expr, f: Frame, k: K): boolean {
  const x = e.expr;
  switch (x.type) {
    case 'term':
      return ev.evalTerm(x.term, f, (v) => (v === false ? false : k()));
    case 'callexpr':
      return ev.evalCallExpr(x.call, f, k);
    case 'somein':
      return ev.evalTerm(x.domain, f, (coll) =>
        iterate(ev, coll, (kk, vv) =>
          x.key
            ? ev.unifyValue(x.key, kk, f, () => ev.unifyValue(x.value, vv, f, k))
            : ev.unifyValue(x.value, vv, f, k),
        ),
      );
    case 'every':
      return ev.evalTerm(x.domain, f, (coll) => {
        let ok = true;
        iterate(ev, coll, (kk, vv) => {
          const body = (): boolean => evalBody(ev, x.body, 0, f, () => true);
          const sat = x.key
            ? ev.unifyValue(x.key, kk, f, () => ev.unifyValue(x.value, vv, f, body))
            : ev.unifyValue(x.value, vv, f, body);
          if (!sat) {
            ok = false;
            return true;
          }
          return false;
        });
        return ok ? k() : false;
      });
    case 'somedecl':
      return k();
  }
}

/** Calls fn(key, value) for each element; arrays give index keys, sets give the element twice. */
export function iterate(ev: Evaluator, coll: Value, fn: (k: Value, v: Value) => boolean): boolean {
  if (Array.isArray(coll)) {
    for (let i = 0; i < coll.length; i++) {
      if (--ev.fuel < 0) ev.refuel();
      if (fn(i, coll[i])) return true;
    }
  } else if (coll instanceof RObject) {
    for (const [k, v] of coll.sortedEntries()) {
      if (--ev.fuel < 0) ev.refuel();
      if (fn(k, v)) return true;
    }
  } else if (coll instanceof RSet) {
    for (const v of coll.sorted()) {
      if (--ev.fuel < 0) ev.refuel();
      if (fn(v, v)) return true;
    }
  }
  return false;
}
