/**
 * Go's fmt for templates: `printf` (verbs v s q d x X o b c e E f F g G t and %%, flags
 * `+ - # space 0`, width and precision), `print` and `println`, with Go's marks for a wrong
 * argument: `%!d(string=abc)`, `%!s(MISSING)`, `%!(EXTRA int=1)`. Widths and precisions are
 * bounded (MAX_PAD) so a format cannot ask for a gigabyte of spaces.
 */
import { FuncError } from './errors.js';
import { formatFloat, formatValue, goQuote, goType } from './values.js';

export const MAX_PAD = 10_000;

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  sharp: boolean;
  width?: number;
  prec?: number;
}

const runes = (s: string) => [...s];

function pad(s: string, f: Spec, numeric = false): string {
  const n = runes(s).length;
  if (f.width === undefined || n >= f.width) return s;
  const fill = f.width - n;
  if (f.minus) return s + ' '.repeat(fill);
  if (f.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

const bad = (verb: string, v: unknown) =>
  v === undefined || v === null ? `%!${verb}(<nil>)` : `%!${verb}(${goType(v)}=${formatValue(v)})`;

const signed = (s: string, neg: boolean, f: Spec) => (neg ? '-' : f.plus ? '+' : f.space ? ' ' : '') + s;

function fmtInt(n: number, verb: string, f: Spec): string {
  const neg = n < 0;
  const a = Math.abs(n);
  const big = BigInt(a);
  let digits: string;
  switch (verb) {
    case 'x':
      digits = (f.sharp ? '0x' : '') + big.toString(16);
      break;
    case 'X':
      digits = (f.sharp ? '0X' : '') + big.toString(16).toUpperCase();
      break;
    case 'o':
      digits = (f.sharp ? '0' : '') + big.toString(8);
      break;
    case 'b':
      digits = big.toString(2);
      break;
    default:
      digits = big.toString(10);
  }
  if (f.prec !== undefined) digits = digits.padStart(f.prec, '0');
  return pad(signed(digits, neg, f), f, f.prec === undefined);
}

function fmtOne(verb: string, v: unknown, f: Spec): string {
  const isInt = typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63;
  switch (verb) {
    case 'v':
      return pad(v === undefined ? '<nil>' : formatValue(v), f);
    case 's':
      if (typeof v === 'string') return pad(f.prec === undefined ? v : runes(v).slice(0, f.prec).join(''), f);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return pad(formatValue(v), f);
      return bad(verb, v);
    case 'q':
      if (typeof v === 'string') return pad(goQuote(v), f);
      if (isInt && v >= 0 && v <= 0x10ffff) return pad(`'${String.fromCodePoint(v)}'`, f);
      return bad(verb, v);
    case 't':
      return typeof v === 'boolean' ? pad(String(v), f) : bad(verb, v);
    case 'c':
      return isInt && v >= 0 && v <= 0x10ffff ? pad(String.fromCodePoint(v), f) : bad(verb, v);
    case 'd':
    case 'o':
    case 'b':
      return isInt ? fmtInt(v, verb, f) : bad(verb, v);
    case 'x':
    case 'X':
      if (isInt) return fmtInt(v, verb, f);
      if (typeof v === 'string') {
        const hex = Buffer.from(v, 'utf8').toString('hex');
        return pad(verb === 'X' ? hex.toUpperCase() : hex, f);
      }
      return bad(verb, v);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      if (typeof v !== 'number') return bad(verb, v);
      const lower = verb.toLowerCase() as 'e' | 'f' | 'g';
      let s = formatFloat(Math.abs(v), lower, f.prec ?? (lower === 'g' ? -1 : 6));
      if (verb === 'E' || verb === 'G') s = s.toUpperCase();
      return pad(signed(s, v < 0, f), f, Number.isFinite(v));
    }
    default:
      return bad(verb, v);
  }
}

export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const f: Spec = { minus: false, plus: false, space: false, zero: false, sharp: false };
    let j = i + 1;
    for (; j < format.length; j++) {
      const fl = format[j];
      if (fl === '-') f.minus = true;
      else if (fl === '+') f.plus = true;
      else if (fl === ' ') f.space = true;
      else if (fl === '0') f.zero = true;
      else if (fl === '#') f.sharp = true;
      else break;
    }
    const num = () => {
      const m = /^\d+/.exec(format.slice(j));
      if (!m) return undefined;
      j += m[0].length;
      const n = Number(m[0]);
      if (n > MAX_PAD) throw new FuncError(`printf: width or precision ${m[0]} is over ${MAX_PAD}`);
      return n;
    };
    f.width = num();
    if (format[j] === '.') {
      j++;
      f.prec = num() ?? 0;
    }
    const verb = format[j];
    i = j;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtOne(verb, args[argi++], f);
  }
  if (argi < args.length)
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => (a === undefined || a === null ? '<nil>' : `${goType(a)}=${formatValue(a)}`))
      .join(', ')})`;
  return out;
}

const isString = (v: unknown) => typeof v === 'string';

/** fmt.Sprint: operands as %v, a space between two that are not strings. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && !isString(a) && !isString(args[i - 1])) out += ' ';
    out += a === undefined ? '<nil>' : formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: operands as %v separated by spaces, and a newline. */
export function sprintln(args: readonly unknown[]): string {
  return args.map((a) => (a === undefined ? '<nil>' : formatValue(a))).join(' ') + '\n';
}
