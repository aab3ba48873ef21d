/**
 * Closure compilation of the common cases, used by the evaluator before its general
 * continuation-passing code. Most terms in real policies have exactly one value (a ref with
 * constant or bound keys, a builtin call on such terms, a literal); most body expressions are guards
 * or assignments with at most one solution. Those compile once (per AST node, lazily) into plain
 * functions: no continuation closures, no dispatch on node types at run time.
 *
 * A value function returns the term's value, `undefined` when it is undefined, or MULTI when the
 * case needs the general path (an unbound variable to iterate over, a `with` mock or data override
 * in effect, a relation or nondeterministic builtin, ...). The general path stays the reference
 * semantics; the fast path is only ever a shortcut to the same answer.
 *
 * Longer than 500 lines on purpose: one closure compiler, a section per node kind (terms, refs,
 * calls, expressions, `some … in`, parameters), each mirrored by a generator in jit.ts and read
 * against it. What both tiers share lives in eval/frame.ts and eval/host.ts; the choice between
 * them per body in tiers.ts.
 */
import type { Body, Call, Expr, Term } from './ast.js';
import { DECLARED, IMPLS } from './builtins/registry.js';
import type { BuiltinImpl } from './builtins/types.js';
import type { RuleNode } from './compiler.js';
import { MULTI, TRAIL, lookup, type Frame } from './eval/frame.js';
import type { EvalHost, RunFn, SegFn } from './eval/host.js';
import { RObject, RSet, equal, type Value } from './value.js';

type Result = Value | undefined | typeof MULTI;
export type ValueFn = (ev: EvalHost, f: Frame) => Result;
/**
 * Runs a simple expression: HOLDS, FAILS, GENERAL (take the general path), or the frame slot it
 * bound (a simple expression binds at most one variable).
 */
type SimpleFn = (ev: EvalHost, f: Frame) => number;
const HOLDS = -1;
const FAILS = -2;
const GENERAL = -3;

// Compiled closures hang off the AST nodes under symbol keys (faster than WeakMap lookups on the
// hot path; invisible to JSON, for-in and the compile cache's encoder).
const VALUE_FN = Symbol('valueFn');
const BINDER = Symbol('binder');
type WithFn<K extends symbol, F> = { [P in K]?: F };

const multi: ValueFn = () => MULTI;

/** The value function of a term (compiled on first use). */
export function valueFn(t: Term, ev: EvalHost): ValueFn {
  const node = t as Term & WithFn<typeof VALUE_FN, ValueFn>;
  return (node[VALUE_FN] ??= compileTerm(t, ev));
}

function compileTerm(t: Term, ev: EvalHost): ValueFn {
  switch (t.type) {
    case 'scalar':
    case 'const': {
      const v = t.value;
      return () => v;
    }
    case 'var': {
      if (t.slot < 0) return multi;
      const s = t.slot;
      return (_ev, f) => {
        const v = f[s];
        return v === undefined ? MULTI : v;
      };
    }
    case 'ref':
      return compileRef(t.terms, ev);
    case 'call':
      return compileCall(t, t.args, ev);
    case 'array': {
      const items = t.items.map((x) => valueFn(x, ev));
      return (e, f) => {
        const out: Value[] = new Array(items.length);
        for (let i = 0; i < items.length; i++) {
          const v = items[i](e, f);
          if (v === undefined || v === MULTI) return v;
          out[i] = v;
        }
        return out;
      };
    }
    case 'set': {
      const items = t.items.map((x) => valueFn(x, ev));
      return (e, f) => {
        const out = new RSet();
        for (const item of items) {
          const v = item(e, f);
          if (v === undefined || v === MULTI) return v;
          out.add(v);
        }
        return out;
      };
    }
    case 'object': {
      const keys = t.items.map(([k]) => valueFn(k, ev));
      const vals = t.items.map(([, v]) => valueFn(v, ev));
      return (e, f) => {
        const out = new RObject();
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i](e, f);
          if (k === undefined || k === MULTI) return k;
          const v = vals[i](e, f);
          if (v === undefined || v === MULTI) return v;
          out.set(k, v);
        }
        return out;
      };
    }
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp':
      // a comprehension always has exactly one value
      return (e, f) => e.firstValueGeneric(t, f);
  }
}

type KeyFn = ValueFn;

function compileKeys(terms: Term[], from: number, ev: EvalHost): KeyFn[] {
  return terms.slice(from).map((k) => valueFn(k, ev));
}

/** Walks keys from `v`; an unbound variable key means iteration: MULTI. */
function walkKeys(e: EvalHost, f: Frame, v: Value | undefined, keys: KeyFn[], from: number): Result {
  for (let i = from; i < keys.length && v !== undefined; i++) {
    const k = keys[i](e, f);
    if (k === MULTI || k === undefined) return k;
    v = lookup(v, k);
  }
  return v;
}

function compileRef(terms: Term[], ev: EvalHost): ValueFn {
  const head = terms[0];
  const keys = compileKeys(terms, 1, ev);
  if (head.type === 'var') {
    if (head.slot >= 0) {
      const s = head.slot;
      return (e, f) => {
        const v = f[s];
        return v === undefined ? MULTI : walkKeys(e, f, v, keys, 0);
      };
    }
    if (head.name === 'input')
      return (e, f) => (e.input === undefined ? undefined : walkKeys(e, f, e.input, keys, 0));
    if (head.name === 'data') return compileDataRef(terms, keys, ev);
    return multi;
  }
  const h = valueFn(head, ev);
  return (e, f) => {
    const v = h(e, f);
    return v === undefined || v === MULTI ? v : walkKeys(e, f, v, keys, 0);
  };
}

/**
 * `data.a.b…`: follows constant string keys down the rule tree; at a rule, its (cached) value; off
 * the rule tree, the base documents. Overrides (`with data…`) and variable keys among rules take
 * the general path.
 */
function compileDataRef(terms: Term[], keys: KeyFn[], ev: EvalHost): ValueFn {
  // the static prefix of constant string keys
  const consts: string[] = [];
  for (let i = 1; i < terms.length; i++) {
    const t = terms[i];
    if ((t.type === 'scalar' || t.type === 'const') && typeof t.value === 'string') consts.push(t.value);
    else break;
  }
  // Walk the rule tree once, now: where the ref leaves it, or reaches a rule.
  let node: RuleNode | undefined = ev.tree.root;
  let stop = 0;
  for (; stop < consts.length; stop++) {
    if (!node || !node.virtual || node.kind !== undefined) break;
    node = node.children.get(consts[stop]);
  }
  const target = node;
  const path = consts.slice(0, stop);
  const atRule =
    target !== undefined && target.virtual && (target.kind !== undefined || stop === keys.length);
  const offTree = target === undefined || !target.virtual;
  if (!atRule && !offTree) return multi; // a variable key among rules: the general path iterates
  // the base document at `path`, per data document (the same for every evaluation of a query)
  let forData: Value | undefined;
  let baseAt: Value | undefined;
  const base = (data: Value): Value | undefined => {
    if (data !== forData) {
      let b: Value | undefined = data;
      for (const k of path) b = b instanceof RObject ? b.get(k) : undefined;
      forData = data;
      baseAt = b;
    }
    return baseAt;
  };
  if (atRule)
    return (e, f) => {
      if (e.dataOverrides) return MULTI;
      const v = e.nodeValue(target!, base(e.data), path);
      return v === undefined ? undefined : walkKeys(e, f, v, keys, stop);
    };
  return (e, f) => {
    if (e.dataOverrides) return MULTI;
    const b = base(e.data);
    return b === undefined ? undefined : walkKeys(e, f, b, keys, stop);
  };
}

/**
 * How a call argument is read, so call closures read constants and bound variables inline instead
 * of through a value function each: a constant (`fn` and `s` unset), a frame slot (`s` ≥ 0), or a
 * value function.
 */
interface Arg {
  c: Value;
  s: number;
  fn: ValueFn | undefined;
}

function argOf(t: Term, ev: EvalHost): Arg {
  if (t.type === 'scalar' || t.type === 'const') return { c: t.value, s: -1, fn: undefined };
  if (t.type === 'var' && t.slot >= 0) return { c: null, s: t.slot, fn: undefined };
  return { c: null, s: -1, fn: valueFn(t, ev) };
}

/** The argument values, or the first undefined / MULTI among them (in argument order). */
type Collect = (e: EvalHost, f: Frame) => Value[] | undefined | typeof MULTI;

function collector(argTerms: Term[], ev: EvalHost): Collect {
  const n = argTerms.length;
  const args = argTerms.map((a) => argOf(a, ev));
  if (n === 0) return () => [];
  if (n === 1) {
    const { c: c0, s: s0, fn: fn0 } = args[0];
    return (e, f) => {
      let x0: Result;
      if (s0 >= 0) {
        x0 = f[s0];
        if (x0 === undefined) return MULTI;
      } else if (fn0 === undefined) x0 = c0;
      else {
        x0 = fn0(e, f);
        if (x0 === undefined || x0 === MULTI) return x0;
      }
      return [x0];
    };
  }
  if (n === 2) {
    const { c: c0, s: s0, fn: fn0 } = args[0];
    const { c: c1, s: s1, fn: fn1 } = args[1];
    return (e, f) => {
      let x0: Result;
      if (s0 >= 0) {
        x0 = f[s0];
        if (x0 === undefined) return MULTI;
      } else if (fn0 === undefined) x0 = c0;
      else {
        x0 = fn0(e, f);
        if (x0 === undefined || x0 === MULTI) return x0;
      }
      let x1: Result;
      if (s1 >= 0) {
        x1 = f[s1];
        if (x1 === undefined) return MULTI;
      } else if (fn1 === undefined) x1 = c1;
      else {
        x1 = fn1(e, f);
        if (x1 === undefined || x1 === MULTI) return x1;
      }
      return [x0, x1];
    };
  }
  return (e, f) => {
    const vals: Value[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const a = args[i];
      let v: Result;
      if (a.s >= 0) {
        v = f[a.s];
        if (v === undefined) return MULTI;
      } else if (a.fn === undefined) v = a.c;
      else {
        v = a.fn(e, f);
        if (v === undefined || v === MULTI) return v;
      }
      vals[i] = v;
    }
    return vals;
  };
}

function compileCall(c: Call, argTerms: Term[], ev: EvalHost): ValueFn {
  const name = c.name!;
  const n = argTerms.length;
  const collect = collector(argTerms, ev);
  if (name.startsWith('data.')) {
    const node = ev.tree.findNode(name.slice(5).split('.'));
    if (!node) return multi; // the general path reports it
    return (e, f) => {
      if (e.mocks) return MULTI;
      const vals = collect(e, f);
      if (vals === undefined || vals === MULTI) return vals;
      return e.callNode(node, vals);
    };
  }
  const d = DECLARED.get(name);
  if (!d || d.relation || d.nondeterministic || d.family === 'core') return multi;
  if (d.args && d.args.length !== n) return multi;
  let impl: BuiltinImpl | undefined;
  return (e, f) => {
    if (e.mocks) return MULTI;
    impl ??= IMPLS.get(name);
    if (!impl) return MULTI; // the general path reports it
    const vals = collect(e, f);
    if (vals === undefined || vals === MULTI) return vals;
    try {
      return impl(vals, e);
    } catch (err) {
      e.builtinFailed(name, err, c.loc);
      return undefined;
    }
  };
}

// ------------------------------------------------------------------ expressions and bodies

function truthy(fn: ValueFn, e: EvalHost, f: Frame): number {
  const v = fn(e, f);
  return v === MULTI ? GENERAL : v !== undefined && v !== false ? HOLDS : FAILS;
}

function arityOf(name: string, ev: EvalHost): number | undefined {
  if (name.startsWith('data.')) return ev.tree.env.functions.get(name.slice(5));
  const d = DECLARED.get(name);
  return d?.args ? d.args.length : undefined;
}

/** `t = v` for a value v: binds an unbound variable (returning its slot), else compares. */
function unifyWith(t: Term, ev: EvalHost): ((e: EvalHost, f: Frame, v: Value) => number) | undefined {
  if (t.type === 'var') {
    if (t.slot < 0) return undefined;
    const s = t.slot;
    const wildcard = t.wildcard === true;
    return (_e, f, v) => {
      const cur = f[s];
      if (cur !== undefined) return equal(cur, v) ? HOLDS : FAILS;
      if (wildcard) return HOLDS;
      f[s] = v;
      return s;
    };
  }
  if (t.type === 'scalar' || t.type === 'const') {
    const c = t.value;
    return (_e, _f, v) => (equal(c, v) ? HOLDS : FAILS);
  }
  const fn = valueFn(t, ev);
  return (e, f, v) => {
    const x = fn(e, f);
    if (x === MULTI) return GENERAL;
    return x !== undefined && equal(x, v) ? HOLDS : FAILS;
  };
}

function simpleExpr(x: Expr, ev: EvalHost): SimpleFn | undefined {
  if (x.with.length) return undefined;
  const b = x.expr;
  if (x.negated) {
    let fn: ValueFn | undefined;
    if (b.type === 'term') fn = valueFn(b.term, ev);
    else if (
      b.type === 'callexpr' &&
      b.call.name !== 'eq' &&
      b.call.name !== 'assign' &&
      arityOf(b.call.name!, ev) === b.call.args.length
    )
      fn = valueFn(b.call, ev);
    if (!fn) return undefined;
    const g = fn;
    return (e, f) => {
      const v = g(e, f);
      return v === MULTI ? GENERAL : v === undefined || v === false ? HOLDS : FAILS;
    };
  }
  switch (b.type) {
    case 'somedecl':
      return () => HOLDS;
    case 'term': {
      const fn = valueFn(b.term, ev);
      return (e, f) => truthy(fn, e, f);
    }
    case 'callexpr': {
      const c = b.call;
      if (c.name === 'eq' || c.name === 'assign') {
        const [l, r] = c.args;
        // the side that has a value decides; the other side is bound or compared
        const lv = valueFn(l, ev);
        const rv = valueFn(r, ev);
        const toL = unifyWith(l, ev);
        const toR = unifyWith(r, ev);
        return (e, f) => {
          let v = rv(e, f);
          if (v === undefined) return FAILS;
          if (v !== MULTI) return toL ? toL(e, f, v) : GENERAL;
          v = lv(e, f);
          if (v === undefined) return FAILS;
          if (v !== MULTI) return toR ? toR(e, f, v) : GENERAL;
          return GENERAL;
        };
      }
      const arity = arityOf(c.name!, ev);
      if (arity === c.args.length) {
        const fn = valueFn(c, ev);
        return (e, f) => truthy(fn, e, f);
      }
      if (arity !== undefined && arity + 1 === c.args.length) {
        const fn = compileCall(c, c.args.slice(0, arity), ev);
        const out = unifyWith(c.args[arity], ev);
        if (!out) return undefined;
        return (e, f) => {
          const v = fn(e, f);
          if (v === MULTI) return GENERAL;
          return v === undefined ? FAILS : out(e, f, v);
        };
      }
      return undefined;
    }
    case 'every':
    case 'somein':
      break; // not simple: the general evaluator runs them
  }
  return undefined;
}

/** `some k, v in coll` with fresh variables: iterates directly. Returns GENERAL when not applicable. */
type IterFn = (e: EvalHost, f: Frame, next: () => boolean) => boolean | typeof MULTI;

/**
 * `some k, v in coll` (not negated, no `with`) whose key and value are plain variables: their
 * slots (sk -1 without a key) and the domain term. Undefined for any other expression.
 */
export function simpleSomeIn(x: Expr): { sv: number; sk: number; domain: Term } | undefined {
  const b = x.expr;
  if (x.negated || x.with.length || b.type !== 'somein') return undefined;
  const val = b.value;
  const key = b.key;
  if (val.type !== 'var' || val.slot < 0 || (key && (key.type !== 'var' || key.slot < 0))) return undefined;
  return { sv: val.slot, sk: key && key.type === 'var' ? key.slot : -1, domain: b.domain };
}

function iterExpr(x: Expr, ev: EvalHost): IterFn | undefined {
  const some = simpleSomeIn(x);
  if (!some) return undefined;
  const { sv, sk } = some;
  const dom = valueFn(some.domain, ev);
  return (e, f, next) => {
    if (f[sv] !== undefined || (sk >= 0 && f[sk] !== undefined)) return MULTI;
    const coll = dom(e, f);
    if (coll === MULTI) return MULTI;
    if (coll === undefined) return false;
    try {
      // each element is a step of the evaluation's budget (see limits.ts)
      if (Array.isArray(coll)) {
        for (let i = 0; i < coll.length; i++) {
          if (--e.fuel < 0) e.refuel();
          if (sk >= 0) f[sk] = i;
          f[sv] = coll[i];
          if (next()) return true;
        }
      } else if (coll instanceof RObject) {
        for (const [k, v] of coll.sortedEntries()) {
          if (--e.fuel < 0) e.refuel();
          if (sk >= 0) f[sk] = k;
          f[sv] = v;
          if (next()) return true;
        }
      } else if (coll instanceof RSet) {
        for (const v of coll.sorted()) {
          if (--e.fuel < 0) e.refuel();
          if (sk >= 0) f[sk] = v;
          f[sv] = v;
          if (next()) return true;
        }
      }
      return false;
    } finally {
      f[sv] = undefined;
      if (sk >= 0) f[sk] = undefined;
    }
  };
}

/** `run` by closures: simple expressions by `seg`, `some … in` by iterExpr, the rest by the general path. */
export function closureRun(body: Body, ev: EvalHost, seg: SegFn): RunFn {
  const n = body.length;
  const iters = body.map((x) => iterExpr(x, ev));
  const run: RunFn = (e, f, k, from) => {
    const mark = TRAIL.n;
    try {
      const j = seg(e, f, from);
      if (j < 0) return false;
      if (j === n) return k();
      const it = iters[j];
      if (it) {
        const res = it(e, f, () => run(e, f, k, j + 1));
        if (res !== MULTI) return res;
      }
      return e.evalExprGeneric(body[j], f, () => run(e, f, k, j + 1));
    } finally {
      // undo the bindings this run made
      const s = TRAIL.s;
      for (let t = TRAIL.n; t > mark;) f[s[--t]] = undefined;
      TRAIL.n = mark;
    }
  };
  return run;
}

/** The closure form of jit.ts's `seg`: the simple expressions from `from` on, in a loop. */
export function closureSegment(body: Body, ev: EvalHost): SegFn {
  const n = body.length;
  const simple = body.map((x) => simpleExpr(x, ev));
  return (e, f, from) => {
    for (let i = from; i < n; i++) {
      const s = simple[i];
      const r = s ? s(e, f) : GENERAL;
      if (r === HOLDS) continue;
      if (r >= 0) {
        TRAIL.s[TRAIL.n++] = r;
        continue;
      }
      return r === FAILS ? -1 : i;
    }
    return n;
  };
}

// ------------------------------------------------------------------ function parameters

type Binder = (f: Frame, args: Value[]) => boolean;

/**
 * Binds a function clause's arguments into its fresh frame when every parameter is a variable or a
 * constant (nearly always); null for patterns, which the general unification handles.
 */
export function paramBinder(params: Term[]): Binder | undefined {
  const node = params as Term[] & WithFn<typeof BINDER, Binder | null>;
  let b = node[BINDER];
  if (b === undefined) {
    b = params.every((p) => (p.type === 'var' && p.slot >= 0) || p.type === 'scalar' || p.type === 'const')
      ? compileBinder(params)
      : null;
    node[BINDER] = b;
  }
  return b ?? undefined;
}

function compileBinder(params: Term[]): Binder {
  const n = params.length;
  // per parameter: its slot, or -1 for a constant (in consts)
  const slots = params.map((p) => (p.type === 'var' ? p.slot : -1));
  const consts = params.map((p) => (p.type === 'var' ? null : (p as { value: Value }).value));
  if (n === 0) return () => true;
  if (n === 1 && slots[0] >= 0) {
    const s0 = slots[0];
    return (f, args) => {
      const cur = f[s0];
      if (cur === undefined) f[s0] = args[0];
      else if (!equal(cur, args[0])) return false;
      return true;
    };
  }
  if (n === 2 && slots[0] >= 0 && slots[1] >= 0 && slots[0] !== slots[1]) {
    // two distinct variables in a fresh frame: plain stores
    const s0 = slots[0];
    const s1 = slots[1];
    return (f, args) => {
      if (f[s0] !== undefined || f[s1] !== undefined) return generalBind(slots, consts, f, args);
      f[s0] = args[0];
      f[s1] = args[1];
      return true;
    };
  }
  return (f, args) => generalBind(slots, consts, f, args);
}

function generalBind(slots: number[], consts: (Value | null)[], f: Frame, args: Value[]): boolean {
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (s >= 0) {
      const cur = f[s];
      if (cur === undefined) f[s] = args[i];
      else if (!equal(cur, args[i])) return false;
    } else if (!equal(consts[i]!, args[i])) return false;
  }
  return true;
}
