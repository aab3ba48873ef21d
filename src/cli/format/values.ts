/**
 * Template values and how Go shows them. Data is plain JSON-like data: `undefined` is Go's
 * missing value (a map without the key: printed `<no value>`), `null` is nil, objects are maps,
 * and a *struct* (made by `goStruct`) is an object whose fields are the only names a template may
 * use (an unknown one is an error, as for docker's formatter contexts); a struct's function
 * fields are its methods (`{{.Label "k"}}`). Nothing else is reachable: fields are read only as
 * own properties, never through prototypes.
 */
const STRUCT_TYPE = Symbol('go struct type');

export type GoStruct = { readonly [STRUCT_TYPE]: string } & Readonly<Record<string, unknown>>;

/** A struct of Go type `type` (named in errors) with these fields and methods. */
export function goStruct(type: string, fields: Record<string, unknown>): GoStruct {
  const s = Object.create(null) as Record<string | symbol, unknown>;
  Object.assign(s, fields);
  Object.defineProperty(s, STRUCT_TYPE, { value: type, enumerable: false });
  return s as GoStruct;
}

export function isStruct(v: unknown): v is GoStruct {
  return typeof v === 'object' && v !== null && Object.hasOwn(v, STRUCT_TYPE);
}

/** A plain object (a JSON object): a Go map[string]interface{}. */
export function isMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || isStruct(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** An own property of plain data, or undefined. */
export function own(v: object, key: string): unknown {
  return Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
}

/** A map's keys in Go's order (sorted). */
export function sortedKeys(m: object): string[] {
  return Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Go type a value would have, for messages (`can't evaluate field X in type string`). */
export function goType(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (isStruct(v)) return v[STRUCT_TYPE];
  if (typeof v === 'function') return 'func';
  return 'map[string]interface {}';
}

/** Go's truth of a value: false, 0, nil, missing and empty strings, lists and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true; // structs and functions
}

/** Go's strconv.Quote: a double-quoted string with Go's escapes. */
export function goQuote(s: string): string {
  const esc: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
    '\\': '\\\\',
    '"': '\\"',
  };
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (esc[c]) out += esc[c];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]/u.test(c))
      out +=
        cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out + '"';
}

/**
 * strconv.FormatFloat for 'e', 'f' and 'g' (`prec` -1: the fewest digits that read back the
 * same; %v is 'g' with -1, which switches to an exponent from 1e+06 on, as Go prints).
 */
export function formatFloat(n: number, verb: 'e' | 'f' | 'g', prec: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  const a = Math.abs(n);
  if (verb === 'f') return sign + a.toFixed(Math.min(Math.max(prec, 0), 100));
  const shortest = prec < 0;
  const expo = shortest
    ? a.toExponential()
    : a.toExponential(Math.min(Math.max(verb === 'g' ? prec - 1 : prec, 0), 100));
  const [mant, e] = expo.split('e');
  const exp = Number(e);
  const eform = (m: string) => `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  if (verb === 'e') return eform(mant);
  // 'g': the digits without trailing zeros, then %e or %f by the exponent
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  let eprec = shortest ? 6 : Math.max(prec, 1);
  if (!shortest && eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  if (exp < -4 || exp >= eprec) return eform(digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits);
  const dp = exp + 1;
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return sign + digits + '0'.repeat(dp - digits.length);
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/** A number as Go prints it: an integer as one, any other as float64's %v. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return Object.is(n, -0) ? '0' : n.toFixed(0);
  return formatFloat(n, 'g', -1);
}

/** fmt's %v of a value inside a list or map (and at the top, but for a missing value). */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (isStruct(v))
    return `{${Object.keys(v)
      .filter((k) => typeof v[k] !== 'function')
      .map((k) => formatValue(v[k]))
      .join(' ')}}`;
  const m = v as Record<string, unknown>;
  return `map[${sortedKeys(m)
    .map((k) => `${k}:${formatValue(m[k])}`)
    .join(' ')}]`;
}

/**
 * How an action prints its value: `<no value>` for a missing one and for nil (text/template
 * unwraps an interface{} holding nil into no value), else %v.
 */
export function printValue(v: unknown): string {
  return v === undefined || v === null ? '<no value>' : formatValue(v);
}
