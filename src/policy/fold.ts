/**
 * Compiler stage "FoldConstants": arrays, sets and objects whose items are all constants become
 * one constant term, computed once at compile time instead of on every evaluation.
 */
import type { Body, Rule, Term } from './ast.js';
import { RObject, RSet, type Value } from './value.js';

/** The value of a term that has no variables, refs, calls or comprehensions; undefined otherwise. */
export function constValue(t: Term): Value | undefined {
  switch (t.type) {
    case 'scalar':
      return t.value;
    case 'const':
      return t.value;
    case 'array': {
      const out: Value[] = [];
      for (const x of t.items) {
        const v = constValue(x);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    case 'set': {
      const s = new RSet();
      for (const x of t.items) {
        const v = constValue(x);
        if (v === undefined) return undefined;
        s.add(v);
      }
      return s;
    }
    case 'object': {
      const o = new RObject();
      for (const [k, x] of t.items) {
        const kv = constValue(k);
        const vv = constValue(x);
        if (kv === undefined || vv === undefined) return undefined;
        o.set(kv, vv);
      }
      return o;
    }
    case 'arraycomp':
    case 'call':
    case 'objectcomp':
    case 'ref':
    case 'setcomp':
    case 'var':
      break;
  }
  return undefined;
}

function foldTerm(t: Term): Term {
  switch (t.type) {
    case 'array':
    case 'set':
    case 'object': {
      const v = constValue(t);
      if (v !== undefined) return { type: 'const', value: v, loc: t.loc };
      if (t.type === 'object')
        return { ...t, items: t.items.map(([k, x]) => [foldTerm(k), foldTerm(x)] as [Term, Term]) };
      return { ...t, items: t.items.map(foldTerm) } as Term;
    }
    case 'ref':
      return { ...t, terms: t.terms.map(foldTerm) };
    case 'call':
      return { ...t, args: t.args.map(foldTerm) };
    case 'arraycomp':
    case 'setcomp':
      return { ...t, term: foldTerm(t.term), body: foldBody(t.body) };
    case 'objectcomp':
      return { ...t, key: foldTerm(t.key), value: foldTerm(t.value), body: foldBody(t.body) };
    case 'const':
    case 'scalar':
    case 'var':
      break;
  }
  return t;
}

export function foldBody(b: Body): Body {
  return b.map((e) => {
    const x = e.expr;
    let nx = x;
    if (x.type === 'term') nx = { ...x, term: foldTerm(x.term) };
    else if (x.type === 'callexpr') nx = { ...x, call: { ...x.call, args: x.call.args.map(foldTerm) } };
    else if (x.type === 'somein')
      nx = { ...x, key: x.key && foldTerm(x.key), value: foldTerm(x.value), domain: foldTerm(x.domain) };
    else if (x.type === 'every') nx = { ...x, domain: foldTerm(x.domain), body: foldBody(x.body) };
    return { ...e, expr: nx, with: e.with.map((w) => ({ ...w, value: foldTerm(w.value) })) };
  });
}

export function foldRule(r: Rule): void {
  r.body = foldBody(r.body);
  const h = r.head;
  r.head = {
    ...h,
    key: h.key && foldTerm(h.key),
    value: h.value && foldTerm(h.value),
    args: h.args?.map(foldTerm),
  };
  if (r.keyPath) r.keyPath = r.keyPath.map(foldTerm);
}
