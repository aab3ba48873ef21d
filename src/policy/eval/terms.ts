/**
 * Terms by the general path: every value of a term (a ref may have many), composites built from
 * their items, comprehensions. Terms with exactly one value take fast.ts's value functions first.
 */
import type { Term } from '../ast.js';
import { valueFn } from '../fast.js';
import { RObject, RSet, equal, type Value } from '../value.js';
import type { Evaluator } from './evaluator.js';
import { MULTI, type Frame, type VK } from './frame.js';

export function evalTerm(ev: Evaluator, t: Term, f: Frame, k: VK): boolean {
  const v = valueFn(t, ev)(ev, f);
  if (v !== MULTI) return v === undefined ? false : k(v);
  return evalTermGeneric(ev, t, f, k);
}

/** The single value of a term by the general path (comprehensions). */
export function firstValueGeneric(ev: Evaluator, t: Term, f: Frame): Value | undefined {
  let out: Value | undefined;
  evalTermGeneric(ev, t, f, (v) => ((out = v), true));
  return out;
}

function evalTermGeneric(ev: Evaluator, t: Term, f: Frame, k: VK): boolean {
  switch (t.type) {
    case 'scalar':
    case 'const':
      return k(t.value);
    case 'var': {
      const v = f[t.slot];
      if (v === undefined) throw ev.error('eval_type_error', `var ${t.name} is unbound`, t.loc);
      return k(v);
    }
    case 'ref':
      return ev.evalRef(t.terms, f, k);
    case 'array':
      return evalItems(ev, t.items, 0, f, [], (items) => k(items));
    case 'set':
      return evalItems(ev, t.items, 0, f, [], (items) => k(RSet.from(items)));
    case 'object': {
      const flat: Term[] = [];
      for (const [a, b] of t.items) flat.push(a, b);
      return evalItems(ev, flat, 0, f, [], (items) => {
        const o = new RObject();
        for (let i = 0; i < items.length; i += 2) o.set(items[i], items[i + 1]);
        return k(o);
      });
    }
    case 'call':
      return ev.evalCall(t, f, k);
    case 'arraycomp': {
      const out: Value[] = [];
      ev.evalBody(t.body, 0, f, () => evalTerm(ev, t.term, f, (v) => (out.push(v), false)));
      return k(out);
    }
    case 'setcomp': {
      const out = new RSet();
      ev.evalBody(t.body, 0, f, () => evalTerm(ev, t.term, f, (v) => (out.add(v), false)));
      return k(out);
    }
    case 'objectcomp': {
      const out = new RObject();
      ev.evalBody(t.body, 0, f, () =>
        evalTerm(ev, t.key, f, (kv) =>
          evalTerm(ev, t.value, f, (vv) => {
            const prev = out.get(kv);
            if (prev !== undefined && !equal(prev, vv))
              throw ev.error('eval_conflict_error', 'object keys must be unique', t.loc);
            out.set(kv, vv);
            return false;
          }),
        ),
      );
      return k(out);
    }
  }
}

/** The values of `items` from i on, appended to `acc` (each combination, when some have several). */
export function evalItems(
  ev: Evaluator,
  items: Term[],
  i: number,
  f: Frame,
  acc: Value[],
  k: (items: Value[]) => boolean,
): boolean {
  // Fast path: items that produce exactly one value need no continuation nesting.
  while (i < items.length) {
    const t = items[i];
    if (t.type === 'scalar' || t.type === 'const') acc.push(t.value);
    else if (t.type === 'var' && f[t.slot] !== undefined) acc.push(f[t.slot]!);
    else break;
    i++;
  }
  if (i === items.length) return k(acc);
  return evalTerm(ev, items[i], f, (v) => evalItems(ev, items, i + 1, f, [...acc, v], k));
}

/** The single value of a term, or undefined (first value if it has several). */
export function firstValue(ev: Evaluator, t: Term, f: Frame): Value | undefined {
  if (t.type === 'scalar' || t.type === 'const') return t.value;
  if (t.type === 'var') return f[t.slot];
  // evalTerm's fast case without its continuation (a decision's query term takes it)
  const v = valueFn(t, ev)(ev, f);
  if (v !== MULTI) return v;
  let out: Value | undefined;
  evalTermGeneric(ev, t, f, (v) => ((out = v), true));
  return out;
}
