/** Queries: every solution of a compiled query, with its bindings and expression values. */
import type { CallExpr, Expr } from '../ast.js';
import type { CompiledQuery } from '../compiler.js';
import type { Value } from '../value.js';
import type { Evaluator, QuerySolution } from './evaluator.js';
import type { Frame, VK } from './frame.js';

export function evalQuery(
  ev: Evaluator,
  q: CompiledQuery,
  onSolution: (s: QuerySolution) => boolean | void,
): void {
  const f: Frame = new Array(q.nslots);
  const values: Value[] = new Array(q.body.length);
  const order = q.body.map((e) => e.index);
  const step = (i: number): boolean => {
    if (i === q.body.length) {
      const bindings = new Map<string, Value>();
      for (const [name, slot] of q.vars) {
        const v = f[slot];
        if (v !== undefined) bindings.set(name, v);
      }
      const expressions: Value[] = [];
      order.forEach((idx, j) => (expressions[idx] = values[j]));
      return onSolution({ bindings, expressions }) === true;
    }
    const e = q.body[i];
    if (q.capture[i]) {
      return evalExprValue(ev, e, f, (v) => {
        if (v === false && q.checkCapture) return false;
        values[i] = v;
        return step(i + 1);
      });
    }
    values[i] = true;
    return ev.evalExprGeneric(e, f, () => step(i + 1));
  };
  step(0);
}

/** The value of a term expression or of a call written without its output argument. */
function evalExprValue(ev: Evaluator, e: Expr, f: Frame, k: VK): boolean {
  const x = e.expr;
  const value = (vk: VK): boolean =>
    x.type === 'term' ? ev.evalTerm(x.term, f, vk) : ev.evalCall((x as CallExpr).call, f, vk);
  if (!e.with.length) return value(k);
  let got: Value = null;
  return ev.evalWith(
    e,
    f,
    () => k(got),
    (k2) => value((v) => ((got = v), k2())),
  );
}
