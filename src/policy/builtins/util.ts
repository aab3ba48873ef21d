/** Argument checks shared by builtin families; errors use OPA's wording. */
import { BuiltinError, operandError } from '../errors.js';
import { RObject, RSet, typeName, type Value } from '../value.js';

export function str(fn: string, args: Value[], i: number): string {
  const v = args[i];
  if (typeof v !== 'string') throw operandError(fn, i + 1, 'string', typeName(v));
  return v;
}
/** A number argument as a double (big integers are rounded; use `exact` where that matters). */
export function num(fn: string, args: Value[], i: number): number {
  const v = args[i];
  if (typeof v !== 'number') {
    if (typeof v === 'bigint') return Number(v);
    throw operandError(fn, i + 1, 'number', typeName(v));
  }
  return v;
}
/** A number argument in its exact representation. */
export function exact(fn: string, args: Value[], i: number): number | bigint {
  const v = args[i];
  if (typeof v !== 'number' && typeof v !== 'bigint') throw operandError(fn, i + 1, 'number', typeName(v));
  return v;
}
/** True for integers in either representation. */
export function isInteger(v: number | bigint): boolean {
  return typeof v === 'bigint' || Number.isInteger(v);
}
export function int(fn: string, args: Value[], i: number): number {
  const v = num(fn, args, i);
  if (!Number.isInteger(v)) throw operandError(fn, i + 1, 'integer', 'number');
  return v;
}
export function arr(fn: string, args: Value[], i: number): Value[] {
  const v = args[i];
  if (!Array.isArray(v)) throw operandError(fn, i + 1, 'array', typeName(v));
  return v;
}
export function obj(fn: string, args: Value[], i: number): RObject {
  const v = args[i];
  if (!(v instanceof RObject)) throw operandError(fn, i + 1, 'object', typeName(v));
  return v;
}
export function set(fn: string, args: Value[], i: number): RSet {
  const v = args[i];
  if (!(v instanceof RSet)) throw operandError(fn, i + 1, 'set', typeName(v));
  return v;
}
export function bool(fn: string, args: Value[], i: number): boolean {
  const v = args[i];
  if (typeof v !== 'boolean') throw operandError(fn, i + 1, 'boolean', typeName(v));
  return v;
}
/** Array or set elements (in order). */
export function elems(fn: string, args: Value[], i: number, want = 'one of {array, set}'): Value[] {
  const v = args[i];
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.sorted();
  throw operandError(fn, i + 1, want, typeName(v));
}
export function fail(fn: string, msg: string): never {
  throw new BuiltinError(`${fn}: ${msg}`);
}
/** Number of Unicode code points (OPA counts runes, not UTF-16 units). */
export function runeLen(s: string): number {
  if (/^[\x00-\x7f]*$/.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}
export function isInt(n: number): boolean {
  return Number.isInteger(n);
}
