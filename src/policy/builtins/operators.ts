/** Comparison, arithmetic, set operators and `in` membership. */
import { operandError } from '../errors.js';
import { RObject, RSet, compare, equal, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { fail, num, set } from './util.js';

register('equal', ([a, b]) => equal(a, b));
register('neq', ([a, b]) => !equal(a, b));
register('lt', ([a, b]) => compare(a, b) < 0);
register('lte', ([a, b]) => compare(a, b) <= 0);
register('gt', ([a, b]) => compare(a, b) > 0);
register('gte', ([a, b]) => compare(a, b) >= 0);

/** Rounds away binary noise (0.1 + 0.2) the way OPA's decimal arithmetic would not produce it. */
export function tidy(n: number): number {
  if (Number.isInteger(n) || !Number.isFinite(n)) return n;
  const r = Number(n.toPrecision(15));
  return r;
}

function checkFinite(fn: string, n: number): number {
  if (!Number.isFinite(n)) fail(fn, 'result is not a finite number');
  return n;
}

register('plus', (a) => checkFinite('plus', tidy(num('plus', a, 0) + num('plus', a, 1))));
register('minus', (a) => {
  if (typeof a[0] === 'number') return checkFinite('minus', tidy(a[0] - num('minus', a, 1)));
  if (a[0] instanceof RSet) {
    const x = a[0];
    const y = set('minus', a, 1);
    const out = new RSet();
    for (const v of x.sorted()) if (!y.has(v)) out.add(v);
    return out;
  }
  throw operandError('minus', 1, 'one of {number, set}', typeName(a[0]));
});
register('mul', (a) => checkFinite('mul', tidy(num('mul', a, 0) * num('mul', a, 1))));
register('div', (a) => {
  const x = num('div', a, 0);
  const y = num('div', a, 1);
  if (y === 0) fail('div', 'divide by zero');
  return tidy(x / y);
});
register('rem', (a) => {
  const x = num('rem', a, 0);
  const y = num('rem', a, 1);
  if (!Number.isInteger(x) || !Number.isInteger(y)) fail('rem', 'modulo on floating-point number');
  if (y === 0) fail('rem', 'modulo by zero');
  const r = x % y;
  return r === 0 ? 0 : r;
});
register('and', (a) => {
  const x = set('and', a, 0);
  const y = set('and', a, 1);
  const out = new RSet();
  for (const v of x.sorted()) if (y.has(v)) out.add(v);
  return out;
});
register('or', (a) => {
  const x = set('or', a, 0);
  const y = set('or', a, 1);
  const out = new RSet();
  for (const v of x.map.values()) out.add(v);
  for (const v of y.map.values()) out.add(v);
  return out;
});

function member(x: Value, coll: Value): boolean {
  if (Array.isArray(coll)) return coll.some((v) => equal(v, x));
  if (coll instanceof RSet) return coll.has(x);
  if (coll instanceof RObject) {
    for (const [, v] of coll.map.values()) if (equal(v, x)) return true;
  }
  return false;
}
register('internal.member_2', ([x, coll]) => member(x, coll));
register('internal.member_3', ([k, v, coll]) => {
  if (Array.isArray(coll))
    return typeof k === 'number' && Number.isInteger(k) && k >= 0 && k < coll.length && equal(coll[k], v);
  if (coll instanceof RObject) {
    const x = coll.get(k);
    return x !== undefined && equal(x, v);
  }
  return false;
});
