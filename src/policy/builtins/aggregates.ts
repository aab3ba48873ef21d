/** count, sum, product, max, min, sort, all, any; array.* and set union/intersection. */
import { operandError } from '../errors.js';
import { RObject, RSet, compare, isNumber, typeName, type Value } from '../value.js';
import { tidy } from './operators.js';
import { IMPLS, register } from './registry.js';
import { arr, elems, num, runeLen, set } from './util.js';

register('count', ([v]) => {
  if (typeof v === 'string') return runeLen(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof RObject || v instanceof RSet) return v.size;
  throw operandError('count', 1, 'one of {array, object, set, string}', typeName(v));
});

function numbers(fn: string, args: Value[]): (number | bigint)[] {
  const xs = elems(fn, args, 0);
  return xs.map((x) => {
    if (!isNumber(x)) throw operandError(fn, 1, 'one of {array, set}', typeName(args[0]));
    return x;
  });
}
/** Folds with plus/mul, which switch to exact integers when a double would not be exact. */
function fold(fn: string, args: Value[], op: string, init: number): Value | undefined {
  const impl = IMPLS.get(op)!;
  let acc: Value | undefined = init;
  for (const x of numbers(fn, args)) acc = impl([acc!, x], undefined as never);
  return typeof acc === 'number' ? tidy(acc) : acc;
}
register('sum', (a) => fold('sum', a, 'plus', 0));
register('product', (a) => fold('product', a, 'mul', 1));
register('max', (a) => {
  const xs = elems('max', a, 0);
  if (!xs.length) return undefined;
  return xs.reduce((m, x) => (compare(x, m) > 0 ? x : m));
});
register('min', (a) => {
  const xs = elems('min', a, 0);
  if (!xs.length) return undefined;
  return xs.reduce((m, x) => (compare(x, m) < 0 ? x : m));
});
register('sort', (a) => [...elems('sort', a, 0)].sort(compare));
register('all', (a) => elems('all', a, 0).every((x) => x === true));
register('any', (a) => elems('any', a, 0).some((x) => x === true));

register('array.concat', (a) => [...arr('array.concat', a, 0), ...arr('array.concat', a, 1)]);
register('array.slice', (a) => {
  const xs = arr('array.slice', a, 0);
  let s = num('array.slice', a, 1);
  let e = num('array.slice', a, 2);
  s = Math.max(0, Math.floor(s));
  e = Math.min(xs.length, Math.floor(e));
  if (s >= e) return [];
  return xs.slice(s, e);
});
register('array.reverse', (a) => [...arr('array.reverse', a, 0)].reverse());

function setOfSets(fn: string, a: Value[]): RSet[] {
  const s = set(fn, a, 0);
  return s.sorted().map((x) => {
    if (!(x instanceof RSet)) throw operandError(fn, 1, 'set of sets', typeName(x));
    return x;
  });
}
register('union', (a) => {
  const out = new RSet();
  for (const s of setOfSets('union', a)) for (const v of s.map.values()) out.add(v);
  return out;
});
register('intersection', (a) => {
  const ss = setOfSets('intersection', a);
  if (!ss.length) return new RSet();
  const out = new RSet();
  for (const v of ss[0].sorted()) if (ss.every((s) => s.has(v))) out.add(v);
  return out;
});
register('set_diff', (a) => {
  const x = set('set_diff', a, 0);
  const y = set('set_diff', a, 1);
  return RSet.from(x.sorted().filter((v) => !y.has(v)));
});
