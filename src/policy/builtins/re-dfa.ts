/**
 * Linear-time matching of a re-subset.ts tree: its Thompson NFA (re-nfa.ts), run as a DFA built
 * lazily (one DFA state per set of NFA states met, its transitions cached per character). Every
 * input character costs one table read once the states it needs exist, and creating a state costs
 * at most the NFA's size: time is O(input × pattern) at worst, never exponential as with a
 * backtracking engine. Answers only "is there a match" (regex.match, glob.match); re2js does the rest.
 *
 * Input is read by code point, as Go reads runes; a lone surrogate reads as U+FFFD, which is what
 * Go sees for it (OPA decodes JSON strings to UTF-8, replacing unpaired surrogates).
 */
import { JMP, MATCH, Nfa, SPLIT } from './re-nfa.js';
import type { Subset } from './re-subset.js';

/** Beyond this many NFA states, the pattern goes to re2js (`x{1000}` alternatives and the like). */
const MAX_NFA = 4000;
/** Matches of a pattern made on its NFA before its DFA is built, if input × NFA is at most COLD_WORK. */
const COLD_USES = 4;
const COLD_WORK = 1 << 14;
/** DFA states kept per pattern; past it the cache is emptied and rebuilt as the input needs. */
const MAX_DFA = 256;

/** A state's transitions before any is known. */
const UNKNOWN_ROW: readonly number[] = new Array<number>(128).fill(-1);

/** Flags of a DFA state: it includes the NFA's MATCH; it has no NFA state left (no match from here). */
const F_MATCH = 1;
const F_DEAD = 2;

export class Dfa {
  private readonly kind: number[];
  private readonly out: number[];
  private readonly out2: number[];
  private readonly ranges: (number[] | undefined)[];
  // plain arrays of small integers rather than typed arrays: as fast to read, and far cheaper to
  // allocate and collect (each typed array has a backing store for the GC to track)
  private startSet: number[] = [];
  private matchSet: number[] = [];
  // DFA states by number: NFA SET states (ascending), flags, transitions — for ASCII in one flat
  // table (`trans[state * 128 + c]`, -1 until computed), for the rest in a map per state
  private nfa: number[][] = [];
  private flags: number[] = [];
  private trans: number[] = [];
  private other: (Map<number, number> | undefined)[] = [];
  private index = new Map<string, number>();
  private mark: number[] = [];
  /** Matches made so far (the first COLD_USES follow the NFA: see test). */
  private uses = 0;
  private gen = 0;

  private constructor(
    private readonly sub: Subset,
    nfa: Nfa,
  ) {
    ({ kind: this.kind, out: this.out, out2: this.out2, ranges: this.ranges } = nfa);
    this.matchSet = [nfa.size - 1]; // the MATCH state is the last one made
    this.mark = new Array<number>(nfa.size).fill(0);
    this.startSet = this.closure([nfa.start]);
    this.reset();
  }

  /** The matcher for a subset tree, or undefined when its NFA would have more than maxNfa states. */
  static from(sub: Subset, maxNfa = MAX_NFA): Dfa | undefined {
    const nfa = Nfa.of(sub.root, maxNfa);
    return nfa && new Dfa(sub, nfa);
  }

  /** NFA size (for cost estimates). */
  get size(): number {
    return this.kind.length;
  }

  /**
   * Whether `s` has a match. `budget.charge(n)` is told of the work done beyond reading
   * characters (creating DFA states, or following NFA states), before it is done.
   */
  test(s: string, budget?: { charge(n: number): void }): boolean {
    // The first few matches follow the NFA directly: a CLI command makes one decision, and
    // building the DFA's states costs more than that (1–2 ms for `^sha256:[a-f0-9]{64}$` before
    // V8 has optimized anything). A pattern used more often gets its DFA.
    const work = s.length * this.kind.length;
    if (this.uses < COLD_USES && work <= COLD_WORK) {
      this.uses++;
      budget?.charge(1 + (work >> 6));
      return this.simulate(s);
    }
    // flags that end the scan: no state left, or (unless the match must end at the end) a match
    const stop = this.sub.anchorEnd ? F_DEAD : F_DEAD | F_MATCH;
    let d = 0;
    let f = this.flags[0];
    if (f & stop) return (f & F_MATCH) !== 0;
    let trans = this.trans;
    let flags = this.flags;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      let nx: number;
      if (c < 128) nx = trans[(d << 7) | c];
      else {
        if (c >= 0xd800 && c < 0xe000) {
          const c2 = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c < 0xdc00 && c2 >= 0xdc00 && c2 < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
            i++;
          } else c = 0xfffd;
        }
        nx = this.other[d]?.get(c) ?? -1;
      }
      if (nx < 0) {
        budget?.charge(1 + (this.nfa[d].length >> 3));
        nx = this.step(d, c);
        trans = this.trans; // they may have grown
        flags = this.flags;
      }
      d = nx;
      f = flags[d];
      if (f & stop) return (f & F_MATCH) !== 0;
    }
    return (f & F_MATCH) !== 0;
  }

  /** `test` by following the NFA's states, character by character, without caching. */
  private simulate(s: string): boolean {
    const { anchorStart, anchorEnd } = this.sub;
    const match = this.matchSet[0]; // the highest state number: last in a sorted set
    let cur = this.startSet;
    const n = s.length;
    for (let i = 0; i <= n; i++) {
      const matched = cur.length > 0 && cur[cur.length - 1] === match;
      if (i === n) return matched;
      if (matched && !anchorEnd) return true;
      if (cur.length === 0 && anchorStart) return false;
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xe000) {
        const c2 = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c < 0xdc00 && c2 >= 0xdc00 && c2 < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
          i++;
        } else c = 0xfffd;
      }
      const moves: number[] = [];
      for (let k = 0; k < cur.length; k++) {
        const q = cur[k];
        if (q !== match && inRanges(this.ranges[q]!, c)) moves.push(this.out[q]);
      }
      cur = this.closure(moves);
      if (!anchorStart) cur = union(cur, this.startSet);
    }
    return false;
  }

  /** The DFA state after `c` from state d (created and cached). */
  private step(d: number, c: number): number {
    if (this.nfa.length >= MAX_DFA) {
      // start over with only the state we are in (and the start state)
      const cur = this.nfa[d];
      const match = (this.flags[d] & F_MATCH) !== 0;
      this.reset();
      d = this.intern(match ? union(cur, this.matchSet) : cur, true);
    }
    const from = this.nfa[d];
    const moves: number[] = [];
    for (let k = 0; k < from.length; k++) {
      const q = from[k];
      if (inRanges(this.ranges[q]!, c)) moves.push(this.out[q]);
    }
    const next = this.closure(moves);
    const nx = this.intern(next, false);
    if (c < 128) this.trans[(d << 7) | c] = nx;
    else (this.other[d] ??= new Map()).set(c, nx);
    return nx;
  }

  private reset(): void {
    this.nfa = [];
    this.other = [];
    this.trans = [];
    this.flags = [];
    this.index.clear();
    this.intern(this.startSet, false);
  }

  /**
   * The DFA state for a set of NFA states (the start state's added where matches may start
   * anywhere). `withStart` marks a set that already includes them.
   */
  private intern(set: number[], withStart: boolean): number {
    let nfa = set;
    if (!this.sub.anchorStart && !withStart) nfa = union(set, this.startSet);
    let match = false;
    const sets: number[] = [];
    for (let k = 0; k < nfa.length; k++) {
      if (this.kind[nfa[k]] === MATCH) match = true;
      else sets.push(nfa[k]);
    }
    const key = sets.join(',') + (match ? '!' : '');
    const hit = this.index.get(key);
    if (hit !== undefined) return hit;
    const id = this.nfa.length;
    this.trans.push(...UNKNOWN_ROW); // the new state's row (a builtin: cheap before V8 optimizes)
    this.flags.push(0);
    this.nfa.push(sets);
    this.other.push(undefined);
    this.flags[id] =
      (match ? F_MATCH : 0) | (sets.length === 0 && !match && this.sub.anchorStart ? F_DEAD : 0);
    this.index.set(key, id);
    return id;
  }

  /** SET and MATCH states reachable from `from` without reading a character, ascending. */
  private closure(from: number[]): number[] {
    const g = ++this.gen;
    const out: number[] = [];
    const stack = from.slice();
    while (stack.length) {
      const q = stack.pop()!;
      if (q < 0 || this.mark[q] === g) continue;
      this.mark[q] = g;
      const k = this.kind[q];
      if (k === SPLIT) stack.push(this.out2[q], this.out[q]);
      else if (k === JMP) stack.push(this.out[q]);
      else out.push(q);
    }
    return out.sort((a, b) => a - b);
  }
}

function inRanges(r: number[], c: number): boolean {
  for (let i = 0; i < r.length; i += 2) {
    if (c < r[i]) return false;
    if (c <= r[i + 1]) return true;
  }
  return false;
}

/** Union of two ascending arrays. */
function union(a: number[], b: number[]): number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}
