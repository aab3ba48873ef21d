/** abs, ceil, floor, round, numbers.range*, rand.intn, to_number, bits.*. */
import { BuiltinError, operandError } from '../errors.js';
import { bignum, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import type { BuiltinContext } from './types.js';
import { exact, fail, int, num, str } from './util.js';

register('abs', (a) => {
  const n = exact('abs', a, 0);
  return typeof n === 'bigint' ? (n < 0n ? -n : n) : Math.abs(n);
});
register('ceil', (a) => {
  const n = exact('ceil', a, 0);
  return typeof n === 'bigint' ? n : Math.ceil(n) || 0;
});
register('floor', (a) => {
  const n = exact('floor', a, 0);
  return typeof n === 'bigint' ? n : Math.floor(n) || 0;
});
register('round', (a) => {
  const n = exact('round', a, 0);
  if (typeof n === 'bigint') return n;
  return Math.sign(n) * Math.round(Math.abs(n)) || 0;
});

function range(fn: string, ctx: BuiltinContext, from: number, to: number, step: number): Value[] {
  const out: number[] = [];
  if (Math.abs(to - from) / step > 1e7) fail(fn, 'range too large');
  // one step per element, charged before the array is made (10M elements take ~100 ms and 80 MB)
  ctx.charge(Math.floor(Math.abs(to - from) / step) + 1);
  if (from <= to) for (let i = from; i <= to; i += step) out.push(i);
  else for (let i = from; i >= to; i -= step) out.push(i);
  return out;
}
register('numbers.range', (a, ctx) => {
  const x = num('numbers.range', a, 0);
  const y = num('numbers.range', a, 1);
  if (!Number.isInteger(x))
    throw new BuiltinError(
      'numbers.range: operand 1 must be integer number but got floating-point number',
      'type',
    );
  if (!Number.isInteger(y))
    throw new BuiltinError(
      'numbers.range: operand 2 must be integer number but got floating-point number',
      'type',
    );
  return range('numbers.range', ctx, x, y, 1);
});
register('numbers.range_step', (a, ctx) => {
  const x = int('numbers.range_step', a, 0);
  const y = int('numbers.range_step', a, 1);
  const s = int('numbers.range_step', a, 2);
  if (s <= 0) fail('numbers.range_step', 'step must be a positive number above zero');
  return range('numbers.range_step', ctx, x, y, s);
});
register('rand.intn', (a, ctx) => {
  const key = str('rand.intn', a, 0);
  const n = int('rand.intn', a, 1);
  if (n === 0) return 0;
  const ck = `rand.intn:${key}:${n}`;
  const hit = ctx.cache.get(ck);
  if (hit !== undefined) return hit as number;
  const r = Math.floor(Math.random() * Math.abs(n));
  ctx.cache.set(ck, r);
  return r;
});
register('to_number', ([v]) => {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'string') {
    const s = v.trim() === v ? v : '';
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
      if (/^[+-]?(inf|infinity|nan)$/i.test(v)) fail('to_number', `invalid syntax`);
      fail('to_number', `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    const n = Number(s);
    return !Number.isSafeInteger(n) && /^[+-]?\d+$/.test(s) ? bignum(BigInt(s)) : n;
  }
  throw operandError('to_number', 1, 'one of {boolean, null, number, string}', typeName(v));
});

function big(fn: string, a: Value[], i: number): bigint {
  const v = a[i];
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number') throw operandError(fn, i + 1, 'number', typeName(v));
  if (!Number.isInteger(v))
    throw new BuiltinError(
      `${fn}: operand ${i + 1} must be integer number but got floating-point number`,
      'type',
    );
  return BigInt(v);
}
const out = bignum;
register('bits.and', (a) => out(big('bits.and', a, 0) & big('bits.and', a, 1)));
register('bits.or', (a) => out(big('bits.or', a, 0) | big('bits.or', a, 1)));
register('bits.xor', (a) => out(big('bits.xor', a, 0) ^ big('bits.xor', a, 1)));
register('bits.negate', (a) => out(~big('bits.negate', a, 0)));
register('bits.lsh', (a) => {
  const s = big('bits.lsh', a, 1);
  if (s < 0n)
    throw new BuiltinError(
      'bits.lsh: operand 2 must be an unsigned integer number but got a negative integer',
      'type',
    );
  return out(big('bits.lsh', a, 0) << s);
});
register('bits.rsh', (a) => {
  const s = big('bits.rsh', a, 1);
  if (s < 0n)
    throw new BuiltinError(
      'bits.rsh: operand 2 must be an unsigned integer number but got a negative integer',
      'type',
    );
  return out(big('bits.rsh', a, 0) >> s);
});
