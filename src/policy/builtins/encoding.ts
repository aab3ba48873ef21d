/** base64, base64url, hex, urlquery, json.* (yaml.* are in yaml.ts, which loads js-yaml). */
import { operandError } from '../errors.js';
import { RObject, RSet, fromJSON, jsonText, toJSON, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { fail, obj, str } from './util.js';

const utf8 = (b: Buffer): string => b.toString('utf8');

register('base64.encode', (a) => Buffer.from(str('base64.encode', a, 0), 'utf8').toString('base64'));
register('base64.decode', (a) => {
  const s = str('base64.decode', a, 0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
    fail('base64.decode', 'illegal base64 data at input byte ' + Math.max(0, s.search(/[^A-Za-z0-9+/=]/)));
  return utf8(Buffer.from(s, 'base64'));
});
register('base64.is_valid', (a) => {
  const s = str('base64.is_valid', a, 0);
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0;
});
register('base64url.encode', (a) =>
  Buffer.from(str('base64url.encode', a, 0), 'utf8')
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_'),
);
register('base64url.encode_no_pad', (a) =>
  Buffer.from(str('base64url.encode_no_pad', a, 0), 'utf8').toString('base64url'),
);
register('base64url.decode', (a) => {
  const s = str('base64url.decode', a, 0);
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s) || (s.includes('=') && s.length % 4 !== 0) || s.length % 4 === 1)
    fail('base64url.decode', 'illegal base64 data at input byte ' + s.length);
  return utf8(Buffer.from(s.replace(/=+$/, ''), 'base64url'));
});
register('hex.encode', (a) => Buffer.from(str('hex.encode', a, 0), 'utf8').toString('hex'));
register('hex.decode', (a) => {
  const s = str('hex.decode', a, 0);
  const bad = s.search(/[^0-9a-fA-F]/);
  if (bad >= 0)
    fail(
      'hex.decode',
      `encoding/hex: invalid byte: U+00${s.charCodeAt(bad).toString(16).toUpperCase().padStart(2, '0')} '${s[bad]}'`,
    );
  if (s.length % 2) fail('hex.decode', 'encoding/hex: odd length hex string');
  return utf8(Buffer.from(s, 'hex'));
});

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
function queryUnescape(fn: string, s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '+') bytes.push(32);
    else if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) fail(fn, `invalid URL escape "${s.slice(i, i + 3)}"`);
      bytes.push(parseInt(h, 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
register('urlquery.encode', (a) => queryEscape(str('urlquery.encode', a, 0)));
register('urlquery.decode', (a) => queryUnescape('urlquery.decode', str('urlquery.decode', a, 0)));
register('urlquery.encode_object', (a) => {
  const o = obj('urlquery.encode_object', a, 0);
  const parts: string[] = [];
  for (const [k, v] of o.sortedEntries()) {
    if (typeof k !== 'string')
      throw operandError('urlquery.encode_object', 1, 'object[string: any]', 'object');
    const vals =
      typeof v === 'string' ? [v] : Array.isArray(v) ? v : v instanceof RSet ? v.sorted() : undefined;
    if (!vals)
      throw operandError('urlquery.encode_object', 1, 'object[string: string|array|set]', typeName(v));
    for (const x of vals) {
      if (typeof x !== 'string')
        throw operandError('urlquery.encode_object', 1, 'object[string: string|array|set]', typeName(x));
      parts.push(queryEscape(k) + '=' + queryEscape(x));
    }
  }
  return parts.join('&');
});
register('urlquery.decode_object', (a) => {
  const s = str('urlquery.decode_object', a, 0);
  const out = new RObject();
  for (const part of s.split(/[&]/)) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = queryUnescape('urlquery.decode_object', eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : queryUnescape('urlquery.decode_object', part.slice(eq + 1));
    const prev = out.get(k);
    out.set(k, Array.isArray(prev) ? [...prev, v] : [v]);
  }
  return out;
});

// ---------------------------------------------------------------- json

export function marshal(v: Value): string {
  return jsonText(toJSON(v, true));
}
register('json.marshal', ([v]) => marshal(v));
register('json.marshal_with_options', (a) => {
  const opts = obj('json.marshal_with_options', a, 1);
  const pretty = opts.get('pretty');
  const indent = opts.get('indent');
  const prefix = opts.get('prefix');
  if ((pretty === undefined || pretty === false) && indent === undefined && prefix === undefined)
    return marshal(a[0]);
  if (pretty === false) return marshal(a[0]);
  const ind = typeof indent === 'string' ? indent : '\t';
  const pre = typeof prefix === 'string' ? prefix : '';
  return jsonText(toJSON(a[0], true), ind)
    .split('\n')
    .map((l) => pre + l)
    .join('\n');
});
register('json.unmarshal', (a) => {
  const s = str('json.unmarshal', a, 0);
  try {
    return fromJSON(JSON.parse(s));
  } catch (e) {
    fail('json.unmarshal', (e as Error).message);
  }
});
register('json.is_valid', (a) => {
  try {
    JSON.parse(str('json.is_valid', a, 0));
    return true;
  } catch {
    return false;
  }
});
