/**
 * The evaluator's contracts. `EvalHost` is all the faster tiers (fast.ts's closures, jit.ts's
 * generated code) may use of an evaluation: its documents and scopes, the step budget, and the few
 * general-path entries they fall back to. They depend on this interface, never on the Evaluator
 * class, so the class can change shape without them. Types only.
 */
import type { Expr, Location, Module, Rule, Term } from '../ast.js';
import type { BuiltinContext } from '../builtins/types.js';
import type { RuleNode } from '../compiler.js';
import type { Value } from '../value.js';
import type { NOT_CACHED } from './cache.js';
import type { Frame, MULTI } from './frame.js';

/**
 * What evaluation needs of a compiled policy: the rule tree, the modules (for error excerpts) and
 * user function arities. A Compiler is one; so is a policy read back from the compile cache.
 */
export interface PolicyTree {
  readonly root: RuleNode;
  readonly modules: Module[];
  readonly env: { functions: Map<string, number> };
  findNode(path: string[]): RuleNode | undefined;
}

/** A `with` replacement of a function: another function (`fn`) or a value. */
export interface Mock {
  fn?: string;
  value?: Value;
}

export interface EvalHost extends BuiltinContext {
  readonly tree: PolicyTree;
  readonly data: Value;
  /** The input document in the current `with` scope (undefined: none). */
  readonly input: Value | undefined;
  /** `with data.…` replacements in effect, by path joined with NUL; undefined when none. */
  readonly dataOverrides: Map<string, Value> | undefined;
  /** `with` replacements of functions in effect; undefined when none. */
  readonly mocks: Map<string, Mock> | undefined;
  /** Coverage callback; the tiers take the general path while it is set. */
  readonly covered?: (rule: Rule) => void;
  /**
   * Steps left before the next budget check. Every loop does `if (--e.fuel < 0) e.refuel();`: a
   * decrement and a compare per element (see limits.ts).
   */
  fuel: number;
  /** The current chunk of steps is used up: throws when over the budget, else hands out the next. */
  refuel(): void;

  /** The full value of a data node: rules merged with children and base documents (cached). */
  nodeValue(node: RuleNode, base: Value | undefined, path: string[]): Value | undefined;
  /** A rule node's number in this tree's value caches, or -1. */
  nodeId(node: RuleNode): number;
  /** The value of the rule a constant data ref reaches (generated code). */
  ruleAt(r: RuleRef): Value | undefined;
  /** ruleAt's cache alone: the rule's value in this evaluation's scope, or NOT_CACHED. */
  ruleCached(r: RuleRef): Value | undefined | typeof NOT_CACHED;
  /** Keeps a rule's value in the cache ruleCached reads. */
  ruleStore(r: RuleRef, v: Value | undefined): void;
  /**
   * ruleAt after the rule's whole evaluation (`r.whole.fn`, which generated code called itself for
   * a rule whose value depends on more than the data: `r.static` false) returned MULTI.
   */
  ruleMissed(r: RuleRef): Value | undefined;
  /** Calls the function defined at a rule node. */
  callNode(node: RuleNode, args: Value[]): Value | undefined;
  /** Calls the function at `r.node` (generated code). */
  callAt(r: FnRef, args: Value[]): Value | undefined;
  /**
   * Calls the function at `r.node` after its whole evaluation (`r.whole.fn`, which generated code
   * called itself) returned MULTI: counted as callAt counts such an answer, then clause by clause.
   */
  callMissed(r: FnRef, args: Value[]): Value | undefined;
  /** The single value of a term, or undefined (its first value if it has several). */
  firstValue(t: Term, f: Frame): Value | undefined;
  /** The single value of a term by the general path (comprehensions). */
  firstValueGeneric(t: Term, f: Frame): Value | undefined;
  /** The general evaluation of one expression. */
  evalExprGeneric(e: Expr, f: Frame, k: () => boolean): boolean;
  /** A builtin threw: rethrows or reports it (strict mode), else returns false (undefined). */
  builtinFailed(name: string, e: unknown, loc: Location): boolean;
}

/** Runs expressions from `from` on (see jit.ts): the body's length, -1, or where the general path starts. */
export type SegFn = (e: EvalHost, f: Frame, from: number) => number;
/** Evaluates a body from expression `from`, calling k per solution; bindings undone on return. */
export type RunFn = (e: EvalHost, f: Frame, k: () => boolean, from: number) => boolean;
/** A node's generated whole evaluation (jit.ts's generateWhole): its value, undefined, or MULTI. */
export type WholeFn = (e: EvalHost, args: Value[] | undefined) => Value | undefined | typeof MULTI;

/** A node's generated whole evaluation; fn null when it has none (or stopped using it). */
export interface Whole {
  /** undefined until generated (see hotThreshold), null when it has none */
  fn: WholeFn | null | undefined;
  misses: number;
  uses: number;
  node: RuleNode;
}
/** A function reached by a constant name, for generated code: its node and whole evaluation. */
export interface FnRef {
  node: RuleNode;
  whole: Whole | undefined;
}
/** A rule reached by a constant data ref, for generated code: its node, cache number and data path. */
export interface RuleRef extends FnRef {
  id: number;
  path: string[];
  /** A complete or set rule with no rules below it (set on first use). */
  leaf: boolean | undefined;
  /** Its value may be kept across evaluations (StaticMemo.holds; set on first use). */
  static: boolean | undefined;
}
