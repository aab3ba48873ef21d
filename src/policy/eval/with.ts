/**
 * `with`: an expression evaluated with input, data or functions replaced. The replacements are in
 * effect (with a value cache of their own) while the expression runs, and put back around its
 * continuation, so the rest of the body sees the documents it had before.
 */
import type { Expr, Var } from '../ast.js';
import { RObject, RSet, type Value } from '../value.js';
import { ValueCache } from './cache.js';
import type { Evaluator } from './evaluator.js';
import type { Frame, K } from './frame.js';
import type { Mock } from './host.js';
import { setPath } from './paths.js';

export function evalWith(
  ev: Evaluator,
  e: Expr,
  f: Frame,
  k: K,
  inner: (k: K) => boolean = (k2) => ev.evalExprInner(e, f, k2),
): boolean {
  // Evaluate the replacement values first (each must be defined).
  const vals: (Value | Mock)[] = [];
  for (const w of e.with) {
    const vt = w.value;
    if (vt.type === 'var' && vt.name.startsWith('$fn:')) {
      vals.push({ fn: vt.name.slice(4) } as Mock);
      continue;
    }
    let got: Value | undefined;
    ev.evalTerm(vt, f, (v) => {
      got = v;
      return true;
    });
    if (got === undefined) return false;
    vals.push(got);
  }
  const savedInput = ev.input;
  const savedData = ev.dataOverrides;
  const savedMocks = ev.mocks;
  const savedCache = ev.vcache;
  let input = ev.input;
  let data = ev.dataOverrides;
  let mocks = ev.mocks;
  e.with.forEach((w, i) => {
    const head = w.target.terms[0] as Var;
    const v = vals[i];
    if (head.name.startsWith('$fn:')) {
      mocks = new Map(mocks ?? []);
      mocks.set(head.name.slice(4), isMock(v) ? v : { value: v as Value });
      return;
    }
    const path: Value[] = [];
    for (const t of w.target.terms.slice(1)) {
      let kv: Value | undefined;
      ev.evalTerm(t, f, (x) => {
        kv = x;
        return true;
      });
      path.push(kv ?? null);
    }
    if (head.name === 'input') input = setPath(input, path, v as Value);
    else {
      data = new Map(data ?? []);
      const key = path.map((p) => String(p)).join('\u0000');
      // a new override replaces any deeper one
      for (const k2 of [...data.keys()])
        if (k2 === key || k2.startsWith(key + '\u0000') || key === '') data.delete(k2);
      data.set(key, v as Value);
    }
  });
  const apply = (): void => {
    ev.input = input;
    ev.dataOverrides = data;
    ev.mocks = mocks;
    ev.vcache = new ValueCache(ev.tree);
  };
  const restore = (): void => {
    ev.input = savedInput;
    ev.dataOverrides = savedData;
    ev.mocks = savedMocks;
    ev.vcache = savedCache;
  };
  apply();
  const innerCache = ev.vcache;
  try {
    const run = (): boolean => {
      if (e.negated) {
        let found = false;
        inner(() => (found = true));
        return found;
      }
      return inner(() => {
        restore();
        try {
          return k();
        } finally {
          apply();
          ev.vcache = innerCache;
        }
      });
    };
    const r = run();
    if (e.negated) {
      restore();
      return r ? false : k();
    }
    return r;
  } finally {
    restore();
  }
}

function isMock(v: unknown): v is Mock {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof RObject) &&
    !(v instanceof RSet) &&
    !Array.isArray(v) &&
    'fn' in v
  );
}
