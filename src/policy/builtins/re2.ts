/**
 * Regular expressions with Go's semantics, which is what OPA's regex builtins have and what
 * policies written for OPA assume: RE2 syntax (no back references, no lookaround: those are
 * errors, worded as Go words them), leftmost-first matches, and linear time in the input.
 * JavaScript's RegExp backtracks: `^(\d+\.?)+$` against 30 digits and an `x` ran for minutes.
 *
 * Three engines, same answers. The subset of the syntax policies use on the decision path is
 * parsed here (re-subset.ts); of those trees, the ones a backtracking engine runs in linear time
 * (a row of sets, each repetition disjoint from what follows: re-js.ts) go to V8's RegExp, written
 * from the tree; the others to a lazily built DFA (re-dfa.ts). Everything else — other syntax,
 * errors, and the builtins that need match positions (find, split, replace) — goes to re2js, a
 * port of Go's regexp package to JavaScript, loaded on first use (it takes ~20 ms to import).
 *
 * Work is charged to the evaluation's budget (limits.ts) before it is done: compiling in
 * proportion to the program's size, matching to input × program.
 */
import { createRequire } from 'node:module';
import type * as Re2jsModule from 're2js';
import { fail } from './util.js';
import { Dfa } from './re-dfa.js';
import { JsMatcher, jsRegExp } from './re-js.js';
import { parseSubset, type Subset } from './re-subset.js';

/** What compiling and matching charge their work to: the evaluation (BuiltinContext), or nothing. */
export interface Budget {
  charge(n: number): void;
}

/** The parts of re2js's RE2 (its port of Go's Regexp) used here and in re2-methods.ts. */
export interface GoRE2 {
  match(s: string): boolean;
  numberOfCapturingGroups(): number;
  numberOfInstructions(): number;
  findAll(s: string, n: number): string[] | null;
  findAllIndex(s: string, n: number): number[][] | null;
  findAllSubmatch(s: string, n: number): (string | null)[][] | null;
  findAllSubmatchIndex(s: string, n: number): number[][] | null;
  namedGroups: Record<string, number>;
  /** Internals, set once after compiling (see re2Compile). */
  onepass: unknown;
  readonly dfa: { maxMem: number; stateBudget: number; memBudget: number } | undefined;
}

let lib: typeof Re2jsModule | undefined;
function re2js(): typeof Re2jsModule {
  // synchronous (builtins are) and on demand: the decision path of most policies never needs it
  return (lib ??= createRequire(import.meta.url)('re2js') as typeof Re2jsModule);
}

/** Steps charged per instruction compiled (re2js compiles ~3–5 µs per instruction). */
const COMPILE_STEPS = 16;

/** A compiled pattern: its subset DFA when it has one, re2js's program made when first needed. */
export class GoRegexp {
  private re2?: GoRE2;

  constructor(
    readonly pattern: string,
    private readonly dfa: Matcher | undefined,
    re2: GoRE2 | undefined,
    /** Program size (NFA states or instructions): the cost of a character. */
    readonly size: number,
  ) {
    this.re2 = re2;
  }

  /** Whether `s` contains a match (Go's MatchString). */
  test(s: string, ctx: Budget): boolean {
    if (this.dfa) {
      ctx.charge(1 + (s.length >> 4));
      return this.dfa.test(s, ctx);
    }
    ctx.charge(this.matchCost(s));
    return this.re2!.match(s);
  }

  /** re2js's program (compiled now for a subset pattern that needs positions). */
  program(ctx: Budget): GoRE2 {
    if (!this.re2) {
      ctx.charge(estimateSize(this.pattern) * COMPILE_STEPS);
      this.re2 = re2Compile('', this.pattern);
    }
    return this.re2;
  }

  /** Steps for a pass over `s`: input × program (the NFA's worst case). */
  matchCost(s: string): number {
    return 1 + Math.ceil((s.length * Math.max(this.size, 1)) / 16);
  }
}

const CACHE = new Map<string, GoRegexp>();
/** Compiled patterns kept (oldest dropped first), like OPA's cache of 100. */
const CACHE_SIZE = 256;

/** Compiles `pattern` (cached); a syntax error fails builtin `fn` with Go's message. */
export function compileGo(fn: string, pattern: string, ctx: Budget): GoRegexp {
  const hit = CACHE.get(pattern);
  if (hit) return hit;
  const sub = parseSubset(pattern);
  const dfa = sub && subsetMatcher(sub);
  let re: GoRegexp;
  if (dfa) {
    ctx.charge(1 + (dfa.size >> 2));
    re = new GoRegexp(pattern, dfa, undefined, dfa.size);
  } else {
    ctx.charge(estimateSize(pattern) * COMPILE_STEPS);
    const r = re2Compile(fn, pattern);
    re = new GoRegexp(pattern, undefined, r, programSize(r));
  }
  if (CACHE.size >= CACHE_SIZE) CACHE.delete(CACHE.keys().next().value!);
  CACHE.set(pattern, re);
  return re;
}

/** What matches a subset tree: `test(s, budget)` in linear time. */
export interface Matcher {
  readonly size: number;
  test(s: string, budget?: Budget): boolean;
}

/**
 * The matcher for a subset tree: V8's RegExp for the shapes it runs in linear time (re-js.ts),
 * else the DFA; undefined if the DFA's NFA would have more than maxStates states.
 */
export function subsetMatcher(sub: Subset, maxStates?: number): Matcher | undefined {
  const js = jsRegExp(sub);
  return js ? new JsMatcher(js, 1) : Dfa.from(sub, maxStates);
}

/** Whether `pattern` is valid Go syntax (regex.is_valid). */
export function isValidGo(pattern: string, ctx: Budget): boolean {
  if (CACHE.has(pattern) || parseSubset(pattern)) return true;
  ctx.charge(estimateSize(pattern) * COMPILE_STEPS);
  try {
    re2Compile('regex.is_valid', pattern);
    return true;
  } catch {
    return false;
  }
}

function re2Compile(fn: string, pattern: string): GoRE2 {
  const { RE2JS, RE2JSSyntaxException } = re2js();
  let r: GoRE2;
  try {
    r = RE2JS.compile(pattern).re2() as unknown as GoRE2;
  } catch (e) {
    if (e instanceof RE2JSSyntaxException) {
      // Go always quotes the offending text, even when it is empty
      fail(fn, `error parsing regexp: ${e.getDescription()}: \`${e.getPattern() ?? ''}\``);
    }
    fail(fn, (e as Error).message);
  }
  // Boolean tests on re2js's DFA (~7 ns a character) rather than its one-pass matcher (~40 ns):
  // both are its own engines, with the same answers.
  r.onepass = null;
  // 1 MiB of DFA states per pattern rather than 8 (CACHE_SIZE patterns are kept); past it, re2js
  // empties the DFA's cache or uses its NFA, still in linear time.
  const d = r.dfa;
  if (d && typeof d.memBudget === 'number') d.maxMem = d.stateBudget = d.memBudget = 1 << 20;
  return r;
}

function programSize(r: GoRE2): number {
  return r.numberOfInstructions();
}

/**
 * A generous estimate of the size of the program Go (and re2js) makes from `pattern`, before
 * compiling it: counted repetitions are expanded (`[a-z]{1000}` is 1000 instructions and more),
 * so a short pattern can cost a long compile. Used to charge the compile to the budget first.
 */
export function estimateSize(p: string): number {
  let sum = 0; // the current sequence
  let last = 0; // its last atom
  const stack: [number, number][] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const d = p[i + 1];
      if (d === 'Q') {
        const e = p.indexOf('\\E', i + 2);
        const end = e < 0 ? p.length : e;
        sum += end - (i + 2);
        last = 1;
        i = e < 0 ? p.length : e + 1;
        continue;
      }
      if ((d === 'p' || d === 'P' || d === 'x') && p[i + 2] === '{') {
        const e = p.indexOf('}', i);
        i = e < 0 ? p.length : e;
      } else i++;
      sum += 1;
      last = 1;
    } else if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') {
        if (p[j] === '\\') j += 2;
        else if (p[j] === '[' && p[j + 1] === ':') {
          const e = p.indexOf(':]', j + 2);
          j = e < 0 ? j + 1 : e + 2;
        } else j++;
      }
      i = j;
      sum += 1;
      last = 1;
    } else if (c === '(') {
      stack.push([sum, last]);
      sum = 0;
      last = 0;
    } else if (c === ')') {
      const [s0] = stack.pop() ?? [0, 0];
      last = sum + 2;
      sum = s0 + last;
    } else if (c === '|') {
      sum += 1;
      last = 0;
    } else if (c === '*' || c === '+' || c === '?') {
      sum += 1;
      last += 1;
    } else if (c === '{') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(p.slice(i, i + 12));
      if (m) {
        // n copies and up to m optional ones, each with a split
        const k = 2 * Math.max(Number(m[1]), m[2] ? Number(m[2]) : 0) + 1;
        sum += last * (k - 1);
        last *= k;
        i += m[0].length - 1;
      } else {
        sum += 1;
        last = 1;
      }
    } else {
      sum += 1;
      last = 1;
    }
  }
  while (stack.length) sum = stack.pop()![0] + sum + 2;
  return sum + 2;
}
