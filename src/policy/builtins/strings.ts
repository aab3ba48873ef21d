/** String builtins, including sprintf with Go's verbs. */
import { BuiltinError, operandError } from '../errors.js';
import { RObject, RSet, formatNumber, isNumber, toRegoString, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { arr, elems, exact, fail, int, obj, runeLen, str } from './util.js';

register('concat', (a) => {
  const sep = str('concat', a, 0);
  const xs = elems('concat', a, 1);
  let out = '';
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (typeof x !== 'string') throw operandError('concat', 2, 'one of {array, set}', typeName(a[1]));
    out = i === 0 ? x : out + sep + x;
  }
  return out;
});
register('contains', (a) => str('contains', a, 0).includes(str('contains', a, 1)));
register('startswith', (a) => str('startswith', a, 0).startsWith(str('startswith', a, 1)));
register('endswith', (a) => str('endswith', a, 0).endsWith(str('endswith', a, 1)));
register('lower', (a) => str('lower', a, 0).toLowerCase());
register('upper', (a) => str('upper', a, 0).toUpperCase());
register('split', (a) => str('split', a, 0).split(str('split', a, 1)));
register('replace', (a) =>
  str('replace', a, 0)
    .split(str('replace', a, 1))
    .join(str('replace', a, 2)),
);
register('strings.reverse', (a) => [...str('strings.reverse', a, 0)].reverse().join(''));
register('strings.count', (a) => {
  const s = str('strings.count', a, 0);
  const sub = str('strings.count', a, 1);
  if (sub === '') return runeLen(s) + 1;
  return s.split(sub).length - 1;
});
register('strings.replace_n', (a) => {
  const pats = obj('strings.replace_n', a, 0);
  let s = str('strings.replace_n', a, 1);
  const pairs: [string, string][] = [];
  for (const [k, v] of pats.sortedEntries()) {
    if (typeof k !== 'string')
      throw new BuiltinError('strings.replace_n: operand 1 non-string key found in pattern object', 'type');
    if (typeof v !== 'string')
      throw new BuiltinError('strings.replace_n: operand 1 non-string value found in pattern object', 'type');
    pairs.push([k, v]);
  }
  // Go's strings.NewReplacer: at each position, the first matching old string (in argument order) wins.
  let out = '';
  let i = 0;
  outer: while (i < s.length) {
    for (const [o, n] of pairs) {
      if (o !== '' && s.startsWith(o, i)) {
        out += n;
        i += o.length;
        continue outer;
      }
    }
    out += s[i++];
  }
  s = out;
  return s;
});
function prefixMatch(fn: string, a: Value[], test: (s: string, p: string) => boolean): boolean {
  const toList = (v: Value, i: number): string[] => {
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) || v instanceof RSet) {
      const xs = Array.isArray(v) ? v : v.sorted();
      return xs.map((x) => {
        if (typeof x !== 'string')
          throw new BuiltinError(
            `${fn}: operand ${i + 1} must be ${Array.isArray(v) ? 'array' : 'set'} of strings but got ${Array.isArray(v) ? 'array' : 'set'} containing ${typeName(x)}`,
            'type',
          );
        return x;
      });
    }
    throw operandError(fn, i + 1, 'one of {string, set, array}', typeName(v));
  };
  const ss = toList(a[0], 0);
  const ps = toList(a[1], 1);
  return ss.some((s) => ps.some((p) => test(s, p)));
}
register('strings.any_prefix_match', (a) =>
  prefixMatch('strings.any_prefix_match', a, (s, p) => s.startsWith(p)),
);
register('strings.any_suffix_match', (a) =>
  prefixMatch('strings.any_suffix_match', a, (s, p) => s.endsWith(p)),
);

function cut(s: string, chars: string, left: boolean, right: boolean): string {
  const set = new Set([...chars]);
  const cs = [...s];
  let i = 0;
  let j = cs.length;
  if (left) while (i < j && set.has(cs[i])) i++;
  if (right) while (j > i && set.has(cs[j - 1])) j--;
  return cs.slice(i, j).join('');
}
register('trim', (a) => cut(str('trim', a, 0), str('trim', a, 1), true, true));
register('trim_left', (a) => cut(str('trim_left', a, 0), str('trim_left', a, 1), true, false));
register('trim_right', (a) => cut(str('trim_right', a, 0), str('trim_right', a, 1), false, true));
register('trim_prefix', (a) => {
  const s = str('trim_prefix', a, 0);
  const p = str('trim_prefix', a, 1);
  return s.startsWith(p) ? s.slice(p.length) : s;
});
register('trim_suffix', (a) => {
  const s = str('trim_suffix', a, 0);
  const p = str('trim_suffix', a, 1);
  return p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
});
register('trim_space', (a) => str('trim_space', a, 0).replace(/^[\s\u0085]+|[\s\u0085]+$/gu, ''));

register('indexof', (a) => {
  const s = str('indexof', a, 0);
  const sub = str('indexof', a, 1);
  const i = s.indexOf(sub);
  if (i < 0) return -1;
  return runeLen(s.slice(0, i));
});
register('indexof_n', (a) => {
  const s = str('indexof_n', a, 0);
  const sub = str('indexof_n', a, 1);
  const out: number[] = [];
  if (sub === '') return out;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) out.push(runeLen(s.slice(0, i)));
  return out;
});
register('substring', (a) => {
  const s = [...str('substring', a, 0)];
  const start = int('substring', a, 1);
  const len = int('substring', a, 2);
  if (start < 0) fail('substring', 'negative offset');
  if (start >= s.length) return '';
  if (len < 0) return s.slice(start).join('');
  return s.slice(start, start + len).join('');
});
register('format_int', (a) => {
  const n = exact('format_int', a, 0);
  const base = int('format_int', a, 1);
  if (![2, 8, 10, 16].includes(base))
    throw new BuiltinError('format_int: operand 2 must be one of {2, 8, 10, 16}', 'type');
  const i = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
  return (i < 0n ? '-' : '') + (i < 0n ? -i : i).toString(base);
});

// ---------------------------------------------------------------- sprintf

function goValue(v: Value): string {
  // %v of OPA values: strings unquoted at top level, composites in Rego syntax
  if (typeof v === 'string') return v;
  return toRegoString(v);
}

export function sprintf(format: string, args: Value[]): string {
  let out = '';
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    // copy the literal text up to the next verb in one piece
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    if (pct > i) out += format.slice(i, pct);
    i = pct;
    let j = i + 1;
    let flags = '';
    while (j < format.length && isFlag(format.charCodeAt(j))) flags += format[j++];
    let width = '';
    while (j < format.length && isDigit(format.charCodeAt(j))) width += format[j++];
    let prec: string | undefined;
    if (format[j] === '.') {
      j++;
      prec = '';
      while (j < format.length && isDigit(format.charCodeAt(j))) prec += format[j++];
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
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const v = args[ai++];
    let s: string;
    switch (verb) {
      case 'v':
        s = goValue(v);
        break;
      case 's':
        s = typeof v === 'string' ? v : goValue(v);
        break;
      case 'q':
        s = typeof v === 'string' ? JSON.stringify(v) : `%!q(${goValue(v)})`;
        break;
      case 'd':
        s =
          typeof v === 'bigint'
            ? v.toString()
            : typeof v === 'number' && Number.isInteger(v)
              ? formatNumber(v)
              : `%!d(${typeName(v)}=${goValue(v)})`;
        if (flags.includes('+') && isNumber(v) && v >= 0) s = '+' + s;
        break;
      case 'f':
      case 'F':
        s =
          typeof v === 'number'
            ? v.toFixed(prec === undefined ? 6 : Number(prec || 0))
            : `%!f(${typeName(v)}=${goValue(v)})`;
        if (flags.includes('+') && typeof v === 'number' && v >= 0) s = '+' + s;
        break;
      case 'e':
        s =
          typeof v === 'number' ? goExp(v, prec === undefined ? 6 : Number(prec || 0)) : `%!e(${goValue(v)})`;
        break;
      case 'g':
        s =
          typeof v === 'number'
            ? prec === undefined
              ? formatNumber(v)
              : String(Number(v.toPrecision(Number(prec) || 1)))
            : `%!g(${goValue(v)})`;
        break;
      case 'x':
      case 'X': {
        if (typeof v === 'bigint') s = (v < 0n ? '-' : '') + (v < 0n ? -v : v).toString(16);
        else if (typeof v === 'number' && Number.isInteger(v))
          s = (v < 0 ? '-' : '') + Math.abs(v).toString(16);
        else if (typeof v === 'string') s = Buffer.from(v, 'utf8').toString('hex');
        else s = `%!x(${goValue(v)})`;
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 'o':
        s =
          (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint'
            ? v.toString(8)
            : `%!o(${goValue(v)})`;
        break;
      case 'b':
        s =
          (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint'
            ? v.toString(2)
            : `%!b(${goValue(v)})`;
        break;
      case 't':
        s = typeof v === 'boolean' ? String(v) : `%!t(${goValue(v)})`;
        break;
      case 'c':
        s = typeof v === 'number' ? String.fromCodePoint(v) : `%!c(${goValue(v)})`;
        break;
      case 'T':
        s = typeName(v);
        break;
      default:
        s = `%!${verb}(${goValue(v)})`;
    }
    if (width) {
      const w = Number(width);
      const pad = flags.includes('0') && !flags.includes('-') ? '0' : ' ';
      if (runeLen(s) < w) {
        const fill = pad.repeat(w - runeLen(s));
        if (flags.includes('-')) s = s + ' '.repeat(w - runeLen(s));
        else if (pad === '0' && (s.startsWith('-') || s.startsWith('+'))) s = s[0] + fill + s.slice(1);
        else s = fill + s;
      }
    }
    out += s;
  }
  if (ai < args.length)
    out +=
      '%!(EXTRA ' +
      args
        .slice(ai)
        .map((v) => `${typeName(v) === 'number' ? 'json.Number' : goType(v)}=${goValue(v)}`)
        .join(', ') +
      ')';
  return out;
}

/** One of + - # space 0. */
function isFlag(c: number): boolean {
  return c === 43 || c === 45 || c === 35 || c === 32 || c === 48;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function goType(v: Value): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return '<nil>';
  if (v instanceof RObject) return 'map[string]interface {}';
  if (v instanceof RSet || Array.isArray(v)) return '[]interface {}';
  return 'json.Number';
}

function goExp(v: number, p: number): string {
  const s = v.toExponential(p);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

register('sprintf', (a) => sprintf(str('sprintf', a, 0), arr('sprintf', a, 1)));
