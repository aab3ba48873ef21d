/**
 * The patterns on a decision's path are nearly all of one shape: anchored at the start, a row of
 * character sets each repeated a fixed or variable number of times (`^sha256:[a-f0-9]{64}$`, the
 * glob `registry.example.com/ops/*` as `^registry\.example\.com/ops/[^/]*$`). For those, V8's own
 * RegExp is linear, and it is faster than re-dfa.ts: ~0.1 ms less for a CLI command's one
 * decision (no DFA to build before V8 optimizes it), and ~2× per character after.
 *
 * Why linear: a backtracking engine is slow only when it can match the same text in several ways
 * and must try them all. Here every variable repetition's set is disjoint from everything that
 * may come right after it (the sets of the following items up to the first that cannot be empty):
 * at each character there is one way on, so giving characters back never lets the rest match
 * and each give-back fails at once. With `^`, V8 tries no other start position. Such a pattern is
 * matched in O(input) steps.
 *
 * The JavaScript pattern is written from the tree (explicit `\u{…}` ranges with the `u` flag), so
 * the syntax is moat's, not JavaScript's: same answers as re-dfa.ts (checked by the differential
 * test), including lone surrogates, which both read as U+FFFD.
 */
import { MAX_RUNE, type Node, type SetNode, type Subset } from './re-subset.js';

interface Item {
  r: number[];
  min: number;
  max: number; // -1: unbounded
}

/** A RegExp for a tree of the shape above, or undefined for any other tree. */
export function jsRegExp(sub: Subset): RegExp | undefined {
  const items = sub.anchorStart ? itemsOf(sub.root) : undefined;
  return items && deterministic(items) ? new RegExp(source(items, sub.anchorEnd), 'u') : undefined;
}

/** A matcher with re-dfa.ts's interface, on a RegExp of jsRegExp. */
export class JsMatcher {
  constructor(
    private readonly re: RegExp,
    /** Items of the pattern (for cost estimates, as the DFA's NFA size). */
    readonly size: number,
  ) {}

  test(s: string): boolean {
    return this.re.test(s);
  }
}

function deterministic(items: Item[]): boolean {
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.min === it.max) continue;
    // the sets that can take the character after this repetition's last one
    for (let j = i + 1; j < items.length; j++) {
      if (overlaps(it.r, items[j].r)) return false;
      if (items[j].min > 0) break;
    }
  }
  return true;
}

function source(items: Item[], anchorEnd: boolean): string {
  let src = '^';
  for (const it of items) src += cls(it.r) + quant(it);
  return anchorEnd ? src + '$' : src;
}

function itemsOf(n: Node): Item[] | undefined {
  const one = (x: Node): Item | undefined => {
    if (x.t === 'set') return { r: x.r, min: 1, max: 1 };
    if (x.t === 'rep' && x.x.t === 'set') return { r: (x.x as SetNode).r, min: x.min, max: x.max };
    return undefined;
  };
  if (n.t === 'empty') return [];
  if (n.t !== 'cat') {
    const it = one(n);
    return it && [it];
  }
  const out: Item[] = [];
  for (const x of n.xs) {
    const it = one(x);
    if (!it) return undefined;
    out.push(it);
  }
  return out;
}

function overlaps(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i += 2)
    for (let j = 0; j < b.length; j += 2) if (a[i] <= b[j + 1] && b[j] <= a[i + 1]) return true;
  return false;
}

const hex = (c: number): string => `\\u{${c.toString(16)}}`;

/**
 * A class for sorted ranges. JavaScript reads a lone surrogate as itself, re-dfa.ts as U+FFFD:
 * the class takes U+D800–U+DFFF exactly when it takes U+FFFD, so both give the same answer.
 */
function cls(r: number[]): string {
  const fffd = r.some((_, i) => i % 2 === 0 && r[i] <= 0xfffd && 0xfffd <= r[i + 1]);
  let body = '';
  for (let i = 0; i < r.length; i += 2) {
    // the parts of [lo, hi] outside the surrogates
    const parts: [number, number][] = [];
    if (r[i] < 0xd800) parts.push([r[i], Math.min(r[i + 1], 0xd7ff)]);
    if (r[i + 1] > 0xdfff) parts.push([Math.max(r[i], 0xe000), r[i + 1]]);
    for (const [lo, hi] of parts) body += lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`;
  }
  if (fffd) body += `${hex(0xd800)}-${hex(0xdfff)}`;
  return body ? `[${body}]` : '[^\\u{0}-\\u{' + MAX_RUNE.toString(16) + '}]';
}

function quant(it: Item): string {
  if (it.min === 1 && it.max === 1) return '';
  if (it.max < 0) return it.min === 0 ? '*' : it.min === 1 ? '+' : `{${it.min},}`;
  return it.min === it.max ? `{${it.min}}` : `{${it.min},${it.max}}`;
}
