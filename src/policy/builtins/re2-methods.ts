/**
 * Go's Regexp methods that OPA's regex builtins call (FindAllString, FindAllStringSubmatch, Split,
 * ReplaceAllString with Expand, QuoteMeta), on re2js's program of a pattern (re2.ts), with the
 * work charged to the evaluation's budget before it is done.
 */
import type { Budget, GoRegexp } from './re2.js';

/** Go's FindAllString(s, n). */
export function findAll(re: GoRegexp, s: string, n: number, ctx: Budget): string[] {
  const r = re.program(ctx);
  ctx.charge(re.matchCost(s));
  return r.findAll(s, n) ?? [];
}

/** Go's FindAllStringSubmatch(s, n): groups that did not take part are "". */
export function findAllSubmatch(re: GoRegexp, s: string, n: number, ctx: Budget): string[][] {
  const r = re.program(ctx);
  ctx.charge(re.matchCost(s));
  return (r.findAllSubmatch(s, n) ?? []).map((m) => m.map((x) => x ?? ''));
}

/** Go's Split(s, -1). */
export function split(re: GoRegexp, s: string, ctx: Budget): string[] {
  if (re.pattern.length > 0 && s.length === 0) return [''];
  const r = re.program(ctx);
  ctx.charge(re.matchCost(s));
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of r.findAllIndex(s, -1) ?? []) {
    end = m[0];
    if (m[1] !== 0) out.push(s.slice(beg, end));
    beg = m[1];
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** Go's ReplaceAllString(s, template): `$1`, `${1}`, `$name`, `${name}` and `$$` expanded. */
export function replaceAll(re: GoRegexp, s: string, template: string, ctx: Budget): string {
  const r = re.program(ctx);
  ctx.charge(re.matchCost(s));
  const names = r.namedGroups;
  let out = '';
  let last = 0;
  for (const m of r.findAllSubmatchIndex(s, -1) ?? []) {
    out += s.slice(last, m[0]);
    out += expand(template, s, m, names);
    last = m[1];
  }
  ctx.charge(out.length >> 6);
  return out + s.slice(last);
}

/** Go's Regexp.Expand. */
function expand(template: string, s: string, m: number[], names: Record<string, number>): string {
  let out = '';
  let t = template;
  for (;;) {
    const d = t.indexOf('$');
    if (d < 0) break;
    out += t.slice(0, d);
    t = t.slice(d + 1);
    if (t[0] === '$') {
      out += '$';
      t = t.slice(1);
      continue;
    }
    const x = extract(t);
    if (!x) {
      out += '$'; // malformed: the $ as text
      continue;
    }
    t = x.rest;
    const g = x.num >= 0 ? x.num : (names[x.name] ?? -1);
    if (g >= 0 && 2 * g + 1 < m.length && m[2 * g] >= 0) out += s.slice(m[2 * g], m[2 * g + 1]);
  }
  return out + t;
}

/** Go's extract: a group name or number after `$`, braced or not. */
function extract(str: string): { name: string; num: number; rest: string } | undefined {
  let s = str;
  const brace = s[0] === '{';
  if (brace) s = s.slice(1);
  const m = /^[\p{L}\p{Nd}_]+/u.exec(s);
  if (!m) return undefined;
  const name = m[0];
  let i = name.length;
  if (brace) {
    if (s[i] !== '}') return undefined;
    i++;
  }
  let num = -1;
  // Go stops at 1e8 (so at most 9 digits), and a leading zero makes it a name
  if (/^[0-9]{1,9}$/.test(name) && !(name[0] === '0' && name.length > 1)) num = Number(name);
  return { name, num, rest: s.slice(i) };
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
