/** Comparison, arithmetic, set operators and `in` membership. */
import { operandError } from '../errors.js';
import { RObject, RSet, bignum, compare, equal, isNumber, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { exact, fail, isInteger, set } from './util.js';

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

type Op = (x: number, y: number) => number;
type BigOp = (x: bigint, y: bigint) => bigint;

/**
 * Arithmetic on doubles, switching to exact bigint arithmetic when both operands are integers and
 * the double result would not be exact (beyond ±2^53), as OPA computes such numbers exactly.
 */
function arith(fn: string, a: Value[], op: Op, bop: BigOp): number | bigint {
  const x = a[0];
  const y = a[1];
  if (typeof x === 'number' && typeof y === 'number') {
    const r = op(x, y);
    if (Number.isSafeInteger(r) || !Number.isInteger(x) || !Number.isInteger(y))
      return checkFinite(fn, tidy(r));
    return bignum(bop(BigInt(x), BigInt(y)));
  }
  const ex = exact(fn, a, 0);
  const ey = exact(fn, a, 1);
  if (isInteger(ex) && isInteger(ey)) return bignum(bop(BigInt(ex), BigInt(ey)));
  return checkFinite(fn, tidy(op(Number(ex), Number(ey))));
}

register('plus', (a) =>
  arith(
    'plus',
    a,
    (x, y) => x + y,
    (x, y) => x + y,
  ),
);
register('minus', (a) => {
  if (isNumber(a[0]))
    return arith(
      'minus',
      a,
      (x, y) => x - y,
      (x, y) => x - y,
    );
  if (a[0] instanceof RSet) {
    const x = a[0];
    const y = set('minus', a, 1);
    const out = new RSet();
    for (const v of x.sorted()) if (!y.has(v)) out.add(v);
    return out;
  }
  throw operandError('minus', 1, 'one of {number, set}', typeName(a[0]));
});
register('mul', (a) =>
  arith(
    'mul',
    a,
    (x, y) => x * y,
    (x, y) => x * y,
  ),
);
register('div', (a) => {
  const x = exact('div', a, 0);
  const y = exact('div', a, 1);

  if (y == 0) fail('div', 'divide by zero');
  if (typeof x === 'number' && typeof y === 'number') {
    const r = x / y;
    if (Number.isSafeInteger(r) || !Number.isInteger(x) || !Number.isInteger(y)) return tidy(r);
  }
  if (isInteger(x) && isInteger(y)) {
    const bx = BigInt(x);
    const by = BigInt(y);
    if (bx % by === 0n) return bignum(bx / by);
  }
  return tidy(Number(x) / Number(y));
});
register('rem', (a) => {
  const x = exact('rem', a, 0);
  const y = exact('rem', a, 1);
  if (!isInteger(x) || !isInteger(y)) fail('rem', 'modulo on floating-point number');

  if (y == 0) fail('rem', 'modulo by zero');
  if (typeof x === 'number' && typeof y === 'number') {
    const r = x % y;
    return r === 0 ? 0 : r;
  }
  return bignum(BigInt(x) % BigInt(y));
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
    for (const v of coll.vals.values()) if (equal(v, x)) return true;
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
