/**
 * The vocabulary the evaluator (eval/*.ts) and its faster tiers (fast.ts, jit.ts) share: frames,
 * continuations, the MULTI sentinel, the trail of bindings, and key lookup. A leaf module: it
 * imports no other part of the engine, so every tier can depend on it without a cycle.
 */
import type { Term } from '../ast.js';
import { RObject, RSet, type Value } from '../value.js';

/** A rule's (or query's) variables, indexed by the compiler's slots; undefined = unbound. */
export type Frame = (Value | undefined)[];
/** A continuation: returns true to stop the search (`not`, `every`, constant-valued rules). */
export type K = () => boolean;
/** A continuation that receives a value. */
export type VK = (v: Value) => boolean;

/** "This case needs the general path": what a fast value function returns when it cannot decide. */
export const MULTI: unique symbol = Symbol('multi');

/**
 * Slots bound by a body segment (jit.ts's generated code or fast.ts's closureSegment), undone by
 * the body's `run` down to the mark it took. One array for the process: the hot loop reads it.
 */
export const TRAIL: { s: number[]; n: number } = { s: [], n: 0 };

/** `v[key]`: an object's value, an array's element (integer index), a set's member; else undefined. */
export function lookup(v: Value, key: Value): Value | undefined {
  if (v instanceof RObject) return v.get(key);
  if (Array.isArray(v)) {
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key >= v.length) return undefined;
    return v[key];
  }
  if (v instanceof RSet) return v.has(key) ? key : undefined;
  return undefined;
}

/** True if the term has variables that are not yet bound in positions a value could bind. */
export function unbound(t: Term, f: Frame): boolean {
  switch (t.type) {
    case 'var':
      return f[t.slot] === undefined;
    case 'array':
      return t.items.some((x) => unbound(x, f));
    case 'object':
      return t.items.some(([a, b]) => unbound(a, f) || unbound(b, f));
    default:
      return false;
  }
}
