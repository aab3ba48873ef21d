/**
 * Thompson's construction of an NFA from a re-subset.ts tree, for re-dfa.ts. States are numbered;
 * per state its kind, its out edges and, for SET states, the code point ranges it reads.
 */
import type { Node } from './re-subset.js';

export const SET = 0;
export const SPLIT = 1;
export const JMP = 2;
export const MATCH = 3;

export class Nfa {
  readonly kind: number[] = [];
  readonly out: number[] = [];
  readonly out2: number[] = [];
  readonly ranges: (number[] | undefined)[] = [];
  start = 0;

  private constructor(private readonly maxStates: number) {}

  /** The NFA of a tree, ending in one MATCH state; undefined past maxStates states. */
  static of(root: Node, maxStates: number): Nfa | undefined {
    const n = new Nfa(maxStates);
    const f = n.build(root);
    if (f === undefined) return undefined;
    n.patch(f.outs, n.add(MATCH));
    n.start = f.start;
    return n;
  }

  get size(): number {
    return this.kind.length;
  }

  private add(kind: number, r?: number[]): number {
    this.kind.push(kind);
    this.out.push(-1);
    this.out2.push(-1);
    this.ranges.push(r);
    return this.kind.length - 1;
  }

  private patch(outs: number[], to: number): void {
    // an out is a state number (its `out`) or ~state (its `out2`)
    for (const o of outs) {
      if (o >= 0) this.out[o] = to;
      else this.out2[~o] = to;
    }
  }

  private build(n: Node): { start: number; outs: number[] } | undefined {
    if (this.kind.length > this.maxStates) return undefined;
    switch (n.t) {
      case 'set': {
        const q = this.add(SET, n.r);
        return { start: q, outs: [q] };
      }
      case 'empty': {
        const q = this.add(JMP);
        return { start: q, outs: [q] };
      }
      case 'cat': {
        let first: { start: number; outs: number[] } | undefined;
        let outs: number[] = [];
        for (const x of n.xs) {
          const f = this.build(x);
          if (!f) return undefined;
          if (first) this.patch(outs, f.start);
          else first = f;
          outs = f.outs;
        }
        return { start: first!.start, outs };
      }
      case 'alt': {
        const fs = [];
        for (const x of n.xs) {
          const f = this.build(x);
          if (!f) return undefined;
          fs.push(f);
        }
        // SPLIT(x0, SPLIT(x1, … x_{k-1}))
        let start = fs[fs.length - 1].start;
        for (let i = fs.length - 2; i >= 0; i--) {
          const q = this.add(SPLIT);
          this.out[q] = fs[i].start;
          this.out2[q] = start;
          start = q;
        }
        return { start, outs: fs.flatMap((f) => f.outs) };
      }
      case 'rep': {
        const head = this.add(JMP);
        let outs = [head];
        for (let i = 0; i < n.min; i++) {
          const f = this.build(n.x);
          if (!f) return undefined;
          this.patch(outs, f.start);
          outs = f.outs;
        }
        if (n.max < 0) {
          // x*: SPLIT → x → back to the SPLIT; leave by its second out
          const q = this.add(SPLIT);
          this.patch(outs, q);
          const f = this.build(n.x);
          if (!f) return undefined;
          this.out[q] = f.start;
          this.patch(f.outs, q);
          return { start: head, outs: [~q] };
        }
        // (x(x(x)?)?)? for the optional copies: each may stop before its x
        const exits: number[] = [];
        for (let i = n.min; i < n.max; i++) {
          const q = this.add(SPLIT);
          this.patch(outs, q);
          const f = this.build(n.x);
          if (!f) return undefined;
          this.out[q] = f.start;
          exits.push(~q);
          outs = f.outs;
        }
        return { start: head, outs: [...outs, ...exits] };
      }
    }
  }
}
