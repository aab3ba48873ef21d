/** Small helpers to visit and rebuild terms. */
import type { Body, Expr, Term } from './ast.js';

/** Calls fn for every term nested in t (pre-order). Comprehension bodies are visited only when `closures`. */
export function visitTerm(t: Term, fn: (t: Term) => void, closures = true): void {
  fn(t);
  switch (t.type) {
    case 'ref':
      for (const x of t.terms) visitTerm(x, fn, closures);
      break;
    case 'array':
    case 'set':
      for (const x of t.items) visitTerm(x, fn, closures);
      break;
    case 'object':
      for (const [k, v] of t.items) {
        visitTerm(k, fn, closures);
        visitTerm(v, fn, closures);
      }
      break;
    case 'call':
      for (const x of t.args) visitTerm(x, fn, closures);
      break;
    case 'arraycomp':
    case 'setcomp':
      if (closures) {
        visitTerm(t.term, fn, closures);
        visitBody(t.body, fn, closures);
      }
      break;
    case 'objectcomp':
      if (closures) {
        visitTerm(t.key, fn, closures);
        visitTerm(t.value, fn, closures);
        visitBody(t.body, fn, closures);
      }
      break;
    case 'const':
    case 'scalar':
    case 'var':
      break;
  }
}

export function visitExpr(e: Expr, fn: (t: Term) => void, closures = true): void {
  const x = e.expr;
  switch (x.type) {
    case 'term':
      visitTerm(x.term, fn, closures);
      break;
    case 'callexpr':
      // the call of a call expression is not a term; it is reported to fn only when asked
      if (callExprs.value) fn(x.call);
      for (const a of x.call.args) visitTerm(a, fn, closures);
      break;
    case 'somedecl':
      for (const v of x.vars) fn(v);
      break;
    case 'somein':
      if (x.key) visitTerm(x.key, fn, closures);
      visitTerm(x.value, fn, closures);
      visitTerm(x.domain, fn, closures);
      break;
    case 'every':
      visitTerm(x.domain, fn, closures);
      if (closures) {
        if (x.key) visitTerm(x.key, fn, closures);
        visitTerm(x.value, fn, closures);
        visitBody(x.body, fn, closures);
      }
      break;
  }
  for (const w of e.with) {
    if (callExprs.value) visitTerm(w.target, fn, closures);
    visitTerm(w.value, fn, closures);
  }
}

export function visitBody(b: Body, fn: (t: Term) => void, closures = true): void {
  for (const e of b) visitExpr(e, fn, closures);
}

const callExprs = { value: false };

/** Like visitBody, and fn also sees the call of every call expression (e.g. `count(x, n)`). */
export function visitBodyCalls(b: Body, fn: (t: Term) => void): void {
  const saved = callExprs.value;
  callExprs.value = true;
  try {
    visitBody(b, fn, true);
  } finally {
    callExprs.value = saved;
  }
}

/** Rebuilds a term bottom-up through `fn`, which may replace any node. Closure bodies are mapped by `bodyFn`. */
export function mapTerm(t: Term, fn: (t: Term) => Term, bodyFn: (b: Body) => Body): Term {
  let out: Term;
  switch (t.type) {
    case 'ref':
      out = { ...t, terms: t.terms.map((x) => mapTerm(x, fn, bodyFn)) };
      break;
    case 'array':
    case 'set':
      out = { ...t, items: t.items.map((x) => mapTerm(x, fn, bodyFn)) };
      break;
    case 'object':
      out = {
        ...t,
        items: t.items.map(([k, v]) => [mapTerm(k, fn, bodyFn), mapTerm(v, fn, bodyFn)] as [Term, Term]),
      };
      break;
    case 'call':
      out = { ...t, args: t.args.map((x) => mapTerm(x, fn, bodyFn)) };
      break;
    case 'arraycomp':
    case 'setcomp':
      out = { ...t, term: mapTerm(t.term, fn, bodyFn), body: bodyFn(t.body) };
      break;
    case 'objectcomp':
      out = {
        ...t,
        key: mapTerm(t.key, fn, bodyFn),
        value: mapTerm(t.value, fn, bodyFn),
        body: bodyFn(t.body),
      };
      break;
    default:
      out = { ...t };
  }
  return fn(out);
}
