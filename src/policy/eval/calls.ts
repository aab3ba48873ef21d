/**
 * Calls by the general path: argument evaluation, `with` mocks, user functions, print, relations
 * (several outputs), nondeterministic builtins (cached per evaluation), and builtin errors.
 */
import type { Call, Location, Term } from '../ast.js';
import { DECLARED, IMPLS, RELATIONS } from '../builtins/registry.js';
import { BuiltinError, RegoError } from '../errors.js';
import { keyOf, toRegoString, type Value } from '../value.js';
import type { Evaluator } from './evaluator.js';
import type { Frame, K, VK } from './frame.js';

const ARITY = new WeakMap<Call, number>();

export function evalCallExpr(ev: Evaluator, c: Call, f: Frame, k: K): boolean {
  const name = c.name!;
  if (name === 'eq' || name === 'assign') return ev.unifyTerms(c.args[0], c.args[1], f, k);
  const arity = arityOf(ev, name, c);
  if (c.args.length === arity + 1) {
    const out = c.args[arity];
    return evalArgs(ev, c.args, 0, arity, f, [], (vals) =>
      invoke(ev, name, c, vals, (r) => ev.unifyValue(out, r, f, k)),
    );
  }
  return evalArgs(ev, c.args, 0, c.args.length, f, [], (vals) =>
    invoke(ev, name, c, vals, (r) => (r === false ? false : k())),
  );
}

export function evalCall(ev: Evaluator, c: Call, f: Frame, k: VK): boolean {
  return evalArgs(ev, c.args, 0, c.args.length, f, [], (vals) => invoke(ev, c.name!, c, vals, k));
}

function arityOf(ev: Evaluator, name: string, c: Call): number {
  const cached = ARITY.get(c);
  if (cached !== undefined) return cached;
  const a = computeArity(ev, name, c);
  ARITY.set(c, a);
  return a;
}

function computeArity(ev: Evaluator, name: string, c: Call): number {
  if (name.startsWith('data.')) {
    const n = ev.tree.env.functions.get(name.slice(5));
    return n ?? c.args.length;
  }
  const d = DECLARED.get(name);
  return d?.args ? d.args.length : c.args.length;
}

function evalArgs(
  ev: Evaluator,
  args: Term[],
  i: number,
  n: number,
  f: Frame,
  acc: Value[],
  k: (vals: Value[]) => boolean,
): boolean {
  while (i < n) {
    const t = args[i];
    if (t.type === 'scalar' || t.type === 'const') acc.push(t.value);
    else if (t.type === 'var' && f[t.slot] !== undefined) acc.push(f[t.slot]!);
    else break;
    i++;
  }
  if (i === n) return k(acc);
  const t = args[i];
  if (t.type === 'var') {
    // an argument bound by a later one (e.g. `x == xs[x]`): evaluate the rest first
    const j = args.findIndex((a, idx) => idx > i && idx < n && a.type !== 'var');
    if (j > 0) {
      const rest = args.slice(0, n);
      return ev.evalTerm(rest[j], f, (v) => {
        const vals = [...acc];
        const again = rest.map((a, idx) =>
          idx === j ? ({ type: 'const', value: v, loc: a.loc } as Term) : a,
        );
        return evalArgs(ev, again, i, n, f, vals, k);
      });
    }
  }
  return ev.evalTerm(args[i], f, (v) => evalArgs(ev, args, i + 1, n, f, [...acc, v], k));
}

function invoke(ev: Evaluator, name: string, c: Call, args: Value[], k: VK): boolean {
  if (ev.mocks) {
    const m = ev.mocks.get(name);
    if (m) {
      if (m.fn !== undefined && m.fn !== name) {
        const saved = ev.mocks;
        // the replacement runs without builtin mocks: it may call the original, and mocks don't chain
        const inner = new Map([...saved].filter(([n]) => n.startsWith('data.') && n !== name));
        ev.mocks = inner.size ? inner : undefined;
        try {
          let out: Value | undefined;
          const r = invoke(ev, m.fn, c, args, (v) => ((out = v), true));
          void r;
          if (out === undefined) return false;
          ev.mocks = saved;
          return k(out);
        } finally {
          ev.mocks = saved;
        }
      }
      if (m.value !== undefined) return k(m.value);
    }
  }
  if (name.startsWith('data.')) {
    const v = ev.callFunction(name, args, c.loc);
    return v === undefined ? false : k(v);
  }
  if (name === 'print') {
    ev.printLoc = c.loc;
    ev.print(args.map((a) => (typeof a === 'string' ? a : toRegoString(a))).join(' '));
    return k(true);
  }
  const d = DECLARED.get(name);
  if (d?.relation) {
    const impl = RELATIONS.get(name);
    if (!impl) throw ev.error('eval_builtin_error', `${name}: not implemented`, c.loc);
    let outs: Value[];
    try {
      outs = impl(args, ev);
    } catch (e) {
      return builtinFailed(ev, name, e, c.loc);
    }
    for (const o of outs) {
      if (--ev.fuel < 0) ev.refuel();
      if (k(o)) return true;
    }
    return false;
  }
  const impl = IMPLS.get(name);
  if (!impl) throw ev.error('eval_builtin_error', `${name}: not implemented`, c.loc);
  let out: Value | undefined;
  try {
    if (d?.nondeterministic) {
      const key = name + ':' + String(keyOf(args));
      if (ev.cache.has(key)) out = ev.cache.get(key) as Value;
      else {
        out = impl(args, ev);
        ev.cache.set(key, out);
      }
    } else out = impl(args, ev);
  } catch (e) {
    return builtinFailed(ev, name, e, c.loc);
  }
  return out === undefined ? false : k(out);
}

/** A builtin threw: evaluation errors go on; other errors abort in strict mode, else the call is undefined. */
export function builtinFailed(ev: Evaluator, name: string, e: unknown, loc: Location): boolean {
  if (e instanceof RegoError) throw e;
  if (e instanceof BuiltinError) {
    if (ev.strict)
      throw ev.error(e.kind === 'type' ? 'eval_type_error' : 'eval_builtin_error', e.message, loc);
    return false;
  }
  if (ev.strict) throw ev.error('eval_builtin_error', `${name}: ${(e as Error).message}`, loc);
  return false;
}
