/**
 * Walks over the AST: one visitor (walkTerm, walkExpr, walkBody) for every pass that looks at the
 * terms of a rule or query, and mapTerm to rebuild terms. A pass says what it needs (into closures
 * or not, call expressions, `with` targets) and may prune below any term, instead of spelling out
 * the shape of each node again.
 */
import type { Body, Expr, Term } from './ast.js';

export interface Visitor {
  /** Called for every term, pre-order; returning false skips the terms inside it. */
  term(t: Term): boolean | void;
  /** Called for every expression before its terms; returning false skips them. */
  expr?(e: Expr): boolean | void;
  /** Enter comprehension bodies and `every` (its key, value and body); default true. */
  closures?: boolean;
  /** Report the call of each call expression (`count(x, n)`, not itself a term) to `term`; default false. */
  calls?: boolean;
  /** Visit `with` targets (`input.x`, a mocked function) besides their values; default false. */
  withTargets?: boolean;
}

export function walkTerm(t: Term, v: Visitor): void {
  if (v.term(t) === false) return;
  switch (t.type) {
    case 'ref':
      for (const x of t.terms) walkTerm(x, v);
      break;
    case 'array':
    case 'set':
      for (const x of t.items) walkTerm(x, v);
      break;
    case 'object':
      for (const [k, x] of t.items) {
        walkTerm(k, v);
        walkTerm(x, v);
      }
      break;
    case 'call':
      for (const x of t.args) walkTerm(x, v);
      break;
    case 'arraycomp':
    case 'setcomp':
      if (v.closures !== false) {
        walkTerm(t.term, v);
        walkBody(t.body, v);
      }
      break;
    case 'objectcomp':
      if (v.closures !== false) {
        walkTerm(t.key, v);
        walkTerm(t.value, v);
        walkBody(t.body, v);
      }
      break;
    case 'const':
    case 'scalar':
    case 'var':
      break;
  }
}

export function walkExpr(e: Expr, v: Visitor): void {
  if (v.expr && v.expr(e) === false) return;
  const x = e.expr;
  switch (x.type) {
    case 'term':
      walkTerm(x.term, v);
      break;
    case 'callexpr':
      if (v.calls && v.term(x.call) === false) break;
      for (const a of x.call.args) walkTerm(a, v);
      break;
    case 'somedecl':
      for (const d of x.vars) v.term(d);
      break;
    case 'somein':
      if (x.key) walkTerm(x.key, v);
      walkTerm(x.value, v);
      walkTerm(x.domain, v);
      break;
    case 'every':
      walkTerm(x.domain, v);
      if (v.closures !== false) {
        if (x.key) walkTerm(x.key, v);
        walkTerm(x.value, v);
        walkBody(x.body, v);
      }
      break;
  }
  for (const w of e.with) {
    if (v.withTargets) walkTerm(w.target, v);
    walkTerm(w.value, v);
  }
}

export function walkBody(b: Body, v: Visitor): void {
  for (const e of b) walkExpr(e, v);
}

/** Calls fn for every term nested in t (pre-order). Comprehension bodies are visited only when `closures`. */
export function visitTerm(t: Term, fn: (t: Term) => void, closures = true): void {
  walkTerm(t, { term: (x) => void fn(x), closures });
}

export function visitExpr(e: Expr, fn: (t: Term) => void, closures = true): void {
  walkExpr(e, { term: (x) => void fn(x), closures });
}

export function visitBody(b: Body, fn: (t: Term) => void, closures = true): void {
  walkBody(b, { term: (x) => void fn(x), closures });
}

/** Like visitBody, and fn also sees the call of every call expression (e.g. `count(x, n)`) and `with` targets. */
export function visitBodyCalls(b: Body, fn: (t: Term) => void): void {
  walkBody(b, { term: (x) => void fn(x), calls: true, withTargets: true });
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
