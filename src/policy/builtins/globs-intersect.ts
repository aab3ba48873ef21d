/**
 * regex.globs_match: do two "globs" (OPA's restricted regex syntax from yashtewari/glob-intersection:
 * literals, `\`-escapes, `.`, character classes `[a-z]` / `[^…]`, and the `*`, `+`, `?` modifiers)
 * match at least one common string? Both patterns become token lists and a search over pairs of
 * positions looks for a path that consumes a character both tokens accept.
 */
import { fail } from './util.js';

type Range = [lo: number, hi: number];
interface Token {
  /** Accepted code points as sorted, disjoint ranges. */
  set: Range[];
  /** '' once, '*' any number of times, '?' at most once. */
  quant: '' | '*' | '?';
}

const MAX = 0x10ffff;

function complement(rs: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(rs)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX) out.push([next, MAX]);
  return out;
}

function normalize(rs: Range[]): Range[] {
  const sorted = [...rs].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

function overlaps(a: Range[], b: Range[]): boolean {
  for (const [lo, hi] of a) for (const [lo2, hi2] of b) if (lo <= hi2 && lo2 <= hi) return true;
  return false;
}

function invalid(fn: string, input: string, pos: number, msg: string): never {
  fail(fn, `input:${input}, pos:${pos}, ${msg}: the input provided is invalid`);
}

function tokenize(fn: string, input: string): Token[] {
  const cps = [...input];
  const out: Token[] = [];
  let i = 0;
  while (i < cps.length) {
    const c = cps[i];
    let set: Range[];
    if (c === '.') {
      set = [[0, MAX]];
      i++;
    } else if (c === '[') {
      i++;
      let neg = false;
      if (cps[i] === '^') {
        neg = true;
        i++;
      }
      const rs: Range[] = [];
      let closed = false;
      while (i < cps.length) {
        let ch = cps[i];
        if (ch === ']') {
          closed = true;
          i++;
          break;
        }
        if (ch === '\\') {
          i++;
          if (i >= cps.length) invalid(fn, input, i, 'escape at end of input');
          ch = cps[i];
        }
        i++;
        const lo = ch.codePointAt(0)!;
        if (cps[i] === '-' && i + 1 < cps.length && cps[i + 1] !== ']') {
          let hiCh = cps[i + 1];
          i += 2;
          if (hiCh === '\\') hiCh = cps[i++] ?? '';
          const hi = hiCh.codePointAt(0) ?? lo;
          if (hi < lo) invalid(fn, input, i, 'range end before range start');
          rs.push([lo, hi]);
        } else rs.push([lo, lo]);
      }
      if (!closed) invalid(fn, input, i, "set-open '[' with no closing ']'");
      set = neg ? complement(rs) : normalize(rs);
    } else if (c === ']') {
      invalid(fn, input, i + 1, "set-close ']' with no preceding '['");
    } else if (c === '*' || c === '+' || c === '?') {
      invalid(fn, input, i + 1, `modifier '${c}' with nothing to modify`);
    } else {
      let ch = c;
      if (c === '\\') {
        i++;
        if (i >= cps.length) invalid(fn, input, i, 'escape at end of input');
        ch = cps[i];
      }
      const cp = ch.codePointAt(0)!;
      set = [[cp, cp]];
      i++;
    }
    const m = cps[i];
    if (m === '*' || m === '?') {
      out.push({ set, quant: m });
      i++;
    } else if (m === '+') {
      out.push({ set, quant: '' }, { set, quant: '*' });
      i++;
    } else out.push({ set, quant: '' });
  }
  return out;
}

export function globsIntersect(fn: string, x: string, y: string): boolean {
  const a = tokenize(fn, x);
  const b = tokenize(fn, y);
  const seen = new Set<number>();
  const stack: [number, number][] = [[0, 0]];
  const w = b.length + 1;
  while (stack.length) {
    const [i, j] = stack.pop()!;
    const key = i * w + j;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    const ta = a[i];
    const tb = b[j];
    // skip an optional token
    if (ta && ta.quant !== '') stack.push([i + 1, j]);
    if (tb && tb.quant !== '') stack.push([i, j + 1]);
    // consume one character both accept
    if (ta && tb && overlaps(ta.set, tb.set))
      stack.push([ta.quant === '*' ? i : i + 1, tb.quant === '*' ? j : j + 1]);
  }
  return false;
}
