/**
 * The common subset of Go's regular expression syntax (what OPA's regex builtins take), parsed to
 * a small tree that re-dfa.ts matches in linear time: literals, `.`, classes with ranges and
 * `\d \w \s`, groups, alternation, `* + ? {n} {n,} {n,m}`, and `^`/`$` at the ends of the
 * pattern. It covers the patterns policies use on the decision path (`^sha256:[a-f0-9]{64}$`,
 * `^registry\.example\.com/`) and the globs glob.match compiles, without loading re2js (about
 * 20 ms to import, on every CLI decision).
 *
 * `parseSubset` returns undefined for anything else — flags, assertions, Unicode classes,
 * `\Q…\E`, named groups, and every pattern that is not valid Go syntax — and the caller hands the
 * pattern to re2js (re2.ts), which reports Go's errors. So the subset never has to reproduce an
 * error message, only to give the same answer as Go for what it accepts (checked against re2js
 * by a differential test).
 */

/** One code point from a set of inclusive ranges (sorted, disjoint: [lo0, hi0, lo1, hi1, …]). */
export interface SetNode {
  t: 'set';
  r: number[];
}
export type Node =
  | SetNode
  | { t: 'cat'; xs: Node[] }
  | { t: 'alt'; xs: Node[] }
  | { t: 'rep'; x: Node; min: number; max: number } // max -1: unbounded
  | { t: 'empty' };

export interface Subset {
  root: Node;
  /** `^` at the start: matches only at position 0. */
  anchorStart: boolean;
  /** `$` at the end: matches only at the end of the input (Go without (?m): end of text). */
  anchorEnd: boolean;
}

export const MAX_RUNE = 0x10ffff;
const DIGIT = [0x30, 0x39];
// Go's \w and \s are ASCII: [0-9A-Za-z_] and [\t\n\f\r ]
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

/** Sorted, merged ranges. */
export function normalize(r: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The complement of normalized ranges within [0, MAX_RUNE]. */
export function negate(r: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] > next) out.push(next, r[i] - 1);
    next = r[i + 1] + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

export const set = (r: number[]): SetNode => ({ t: 'set', r: normalize(r) });

/** Go treats a backslash before ASCII punctuation as that character. */
const isPunct = (c: number): boolean => c < 0x80 && !/[0-9A-Za-z]/.test(String.fromCharCode(c)) && c > 0x20;
const ESCAPES: Record<string, number> = { t: 9, n: 10, f: 12, r: 13, v: 11, a: 7 };
const PERL: Record<string, number[]> = { d: DIGIT, w: WORD, s: SPACE };
/** Largest counted repetition Go accepts. */
const MAX_REPEAT = 1000;
const MAX_DEPTH = 100;

class Bail extends Error {}
const bail = (): never => {
  throw new Bail();
};

/** Parses `pattern` if it is in the subset; undefined if not (re2js decides, and reports errors). */
export function parseSubset(pattern: string): Subset | undefined {
  let p = pattern;
  let anchorStart = false;
  let anchorEnd = false;
  if (p.startsWith('^')) {
    anchorStart = true;
    p = p.slice(1);
  }
  // a final `$` that is not escaped (an odd number of backslashes before it escapes it)
  if (p.endsWith('$')) {
    let k = p.length - 2;
    while (k >= 0 && p[k] === '\\') k--;
    if ((p.length - 2 - k) % 2 === 0) {
      anchorEnd = true;
      p = p.slice(0, -1);
    }
  }
  try {
    const ps = new Parser(p);
    const root = ps.alt(0);
    if (ps.i !== p.length) bail(); // an unmatched ')'
    // `^a|b` is `(^a)|b`: anchors with a top-level alternation are left to re2js
    if ((anchorStart || anchorEnd) && ps.topAlt) bail();
    return { root, anchorStart, anchorEnd };
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  /** Code point at i (a lone surrogate makes the pattern invalid UTF-8 for Go: not ours). */
  private cp(): number {
    const c = this.s.codePointAt(this.i)!;
    if (c >= 0xd800 && c <= 0xdfff) bail();
    return c;
  }

  /** A `|` outside any group. */
  topAlt = false;

  alt(depth: number): Node {
    if (depth > MAX_DEPTH) bail();
    const xs = [this.cat(depth)];
    while (this.s[this.i] === '|') {
      if (depth === 0) this.topAlt = true;
      this.i++;
      xs.push(this.cat(depth));
    }
    return xs.length === 1 ? xs[0] : { t: 'alt', xs };
  }

  private cat(depth: number): Node {
    const xs: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const atom = this.atom(depth);
      xs.push(this.repeat(atom));
    }
    return xs.length === 1 ? xs[0] : xs.length === 0 ? { t: 'empty' } : { t: 'cat', xs };
  }

  private atom(depth: number): Node {
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case '(': {
        this.i++;
        if (s[this.i] === '?') {
          if (s[this.i + 1] !== ':') bail(); // flags, named groups, Perl syntax
          this.i += 2;
        }
        const x = this.alt(depth + 1);
        if (s[this.i] !== ')') bail();
        this.i++;
        return x;
      }
      case '[':
        return this.cls();
      case '.':
        this.i++;
        return set([0, 9, 11, MAX_RUNE]);
      case '\\': {
        this.i++;
        const r = this.escape();
        return { t: 'set', r: typeof r === 'number' ? [r, r] : r };
      }
      // anchors inside the pattern, quantifiers without an operand, braces Go may read as literals
      case '^':
      case '$':
      case '*':
      case '+':
      case '?':
      case '{':
      case '}':
      case ']':
        return bail();
      default: {
        const cp = this.cp();
        this.i += cp > 0xffff ? 2 : 1;
        return { t: 'set', r: [cp, cp] };
      }
    }
  }

  /** After a backslash: a character, or ranges for \d \w \s. */
  private escape(): number | number[] {
    const c = this.s[this.i];
    if (c === undefined) return bail();
    this.i++;
    if (PERL[c]) return PERL[c];
    if (ESCAPES[c] !== undefined) return ESCAPES[c];
    const code = c.charCodeAt(0);
    if (isPunct(code)) return code;
    return bail(); // \D \W \S \b \A \z \p \x \Q, octal, back references, and errors
  }

  private repeat(x: Node): Node {
    const s = this.s;
    let min: number;
    let max: number;
    const c = s[this.i];
    if (c === '*') [min, max] = [0, -1];
    else if (c === '+') [min, max] = [1, -1];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(s.slice(this.i));
      if (!m) return bail(); // `a{`, `a{,3}`: literal braces in Go; left to re2js
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) return bail();
      // nested counted repetitions have a combined limit in Go: left to re2js
      if (hasCounted(x)) return bail();
      this.i += m[0].length - 1;
    } else return x;
    this.i++;
    if (s[this.i] === '?') this.i++; // non-greedy: the same set of matches
    const next = s[this.i];
    if (next === '*' || next === '+' || next === '?' || next === '{') bail(); // `a**`: an error in Go
    if (x.t === 'empty') bail();
    return { t: 'rep', x, min, max };
  }

  private cls(): Node {
    const s = this.s;
    this.i++; // '['
    let neg = false;
    if (s[this.i] === '^') {
      neg = true;
      this.i++;
    }
    const r: number[] = [];
    let first = true;
    for (;;) {
      const c = s[this.i];
      if (c === undefined) return bail();
      if (c === ']' && !first) break;
      first = false;
      if (c === '[') return bail(); // [:alpha:] and friends
      const lo = this.classChar();
      if (typeof lo !== 'number') {
        r.push(...lo);
        continue;
      }
      // a range, unless the '-' is the last thing in the class
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && s[this.i + 1] !== undefined) {
        this.i++;
        const hi = this.classChar();
        if (typeof hi !== 'number' || hi < lo) return bail();
        r.push(lo, hi);
      } else r.push(lo, lo);
    }
    this.i++; // ']'
    const n = normalize(r);
    return { t: 'set', r: neg ? negate(n) : n };
  }

  private classChar(): number | number[] {
    if (this.s[this.i] === '\\') {
      this.i++;
      return this.escape();
    }
    const cp = this.cp();
    this.i += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

function hasCounted(x: Node): boolean {
  switch (x.t) {
    case 'rep':
      return x.min > 1 || x.max > 1 || hasCounted(x.x);
    case 'cat':
    case 'alt':
      return x.xs.some(hasCounted);
    default:
      return false;
  }
}
