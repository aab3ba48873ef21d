/**
 * Top-down evaluator with backtracking. Continuation-passing style: every step takes a continuation
 * `k` that returns true to stop the search (used by `not`, `every`, and constant-valued rules).
 * Bindings live in per-rule frames indexed by the compiler's slots and are undone on return.
 *
 * The class holds one evaluation's state (documents, `with` scopes, value cache, step budget); the
 * work is done by one module per concern, as OPA's topdown keeps eval.go beside query.go,
 * bindings.go and cache.go: queries (query.ts), bodies and expressions (body.ts), `with`
 * (with.ts), terms (terms.ts), refs and data (refs.ts), rules (rules.ts), calls (calls.ts),
 * unification (unify.ts), the value cache (cache.ts). Those modules never import each other: a
 * call into another concern goes through the methods below, which is what lets them recurse into
 * one another without an import cycle. The faster tiers (fast.ts, jit.ts) see only `EvalHost`.
 */
import type { Body, Call, Expr, Location, Rule, Term } from '../ast.js';
import type { CompiledQuery, RuleNode } from '../compiler.js';
import { RegoError } from '../errors.js';
import { CHUNK, type Limits } from '../limits.js';
import type { Value } from '../value.js';
import { NOT_CACHED, ValueCache } from './cache.js';
import type { Frame, K, VK } from './frame.js';
import type { EvalHost, FnRef, Mock, PolicyTree, RuleRef } from './host.js';
import type { StaticMemo } from './static.js';
import * as bodies from './body.js';
import * as calls from './calls.js';
import * as queries from './query.js';
import * as refs from './refs.js';
import * as rules from './rules.js';
import * as terms from './terms.js';
import * as unify from './unify.js';
import * as withs from './with.js';

export interface EvalOptions {
  input?: Value;
  /** Builtin errors abort evaluation instead of making the expression undefined. */
  strictBuiltinErrors?: boolean;
  /** Receives print() output. */
  print?: (msg: string, loc: Location) => void;
  /** Fixed clock for time.now_ns (nanoseconds). */
  now?: bigint;
  /** Receives every rule (clause, else branch, default) whose body held (rule-level coverage). */
  covered?: (rule: Rule) => void;
  /** Bounds of this evaluation (see limits.ts); none when not given. */
  limits?: Limits;
  /** Rule values kept across evaluations with the same tree and data (static.ts). */
  memo?: StaticMemo;
}

export interface QuerySolution {
  bindings: Map<string, Value>;
  /** Value of each query expression, in source order. */
  expressions: Value[];
}

export class Evaluator implements EvalHost {
  // Members marked @internal are the evaluation's state, read and written by the modules of
  // eval/ (and, through EvalHost, read by fast.ts and jit.ts); they are not an API.
  /** @internal */
  input: Value | undefined;
  /** @internal Rule values of the current `with` scope. */
  vcache: ValueCache;
  /** @internal */
  dataOverrides: Map<string, Value> | undefined;
  /** @internal */
  mocks: Map<string, Mock> | undefined;
  /** @internal Builtin errors abort the evaluation (calls.ts). */
  readonly strict: boolean;
  /** @internal Where the print() being run was called (calls.ts). */
  printLoc: Location | undefined;
  /** @internal The clause that produced the last rule value (rules.ts, for conflict messages). */
  lastRule: Rule | undefined;
  /** @internal */
  readonly covered?: (rule: Rule) => void;
  /** @internal Steps left before the next budget check (see EvalHost.fuel). */
  fuel: number;
  private cacheMap: Map<string, unknown> | undefined;
  private nowNs: bigint | undefined;
  private readonly printer?: (msg: string, loc: Location) => void;
  /** Steps of the chunks before the current one, and the current chunk's size. */
  private spent = 0;
  private chunk: number;
  private readonly maxSteps: number;
  private readonly maxMs: number;
  /** Date.now() past which the evaluation stops; set at the first check (see refuel). */
  private deadline = 0;

  constructor(
    readonly tree: PolicyTree,
    readonly data: Value,
    opts: EvalOptions = {},
  ) {
    this.input = opts.input;
    this.vcache = new ValueCache(tree, opts.memo);
    this.strict = opts.strictBuiltinErrors ?? false;
    this.printer = opts.print;
    this.nowNs = opts.now;
    this.covered = opts.covered;
    this.maxSteps = opts.limits?.steps ?? Infinity;
    this.maxMs = opts.limits?.ms ?? Infinity;
    this.chunk = this.fuel = Math.min(CHUNK, this.maxSteps);
  }

  // ------------------------------------------------------------------ budget and context

  /** Charges `n` steps of work (builtins: in proportion to what they are about to do). */
  charge(n: number): void {
    this.fuel -= n;
    if (this.fuel < 0) this.refuel();
  }

  /**
   * @internal The current chunk of steps is used up: stop the evaluation if it went over its
   * step budget or its time, else hand out the next chunk. The clock is first read here, after
   * the first chunk (most decisions never get this far): the time limit counts from then, so a
   * decision may run a chunk's worth of steps beyond it. Date.now(), not performance.now(): the
   * first use of `performance` loads perf_hooks, ~10 ms in a fresh process; milliseconds suffice.
   */
  refuel(): void {
    this.spent += this.chunk - this.fuel;
    if (this.spent > this.maxSteps)
      throw new RegoError(
        'eval_cancel_error',
        `evaluation exceeded its budget of ${this.maxSteps} steps (a loop or a builtin did too much work)`,
      );
    if (this.maxMs !== Infinity) {
      const now = Date.now();
      if (this.deadline === 0) this.deadline = now + this.maxMs;
      else if (now > this.deadline)
        throw new RegoError('eval_cancel_error', `evaluation exceeded its time limit of ${this.maxMs} ms`);
    }
    this.chunk = this.fuel = Math.min(CHUNK, this.maxSteps - this.spent);
  }

  /** Steps used so far (tests, and the bench). */
  get steps(): number {
    return this.spent + this.chunk - this.fuel;
  }

  /** Per-evaluation cache (nondeterministic builtins, compiled patterns); created on first use. */
  get cache(): Map<string, unknown> {
    return (this.cacheMap ??= new Map());
  }

  /** The evaluation's clock, read once on first use (most decisions never ask). */
  get now(): bigint {
    return (this.nowNs ??= BigInt(Date.now()) * 1000000n);
  }

  private get sources(): Map<string, string> {
    return new Map(this.tree.modules.map((m) => [m.source.file, m.source.text]));
  }

  print(msg: string): void {
    if (this.printer) this.printer(msg, this.printLoc!);
  }
  trace(msg: string): void {
    this.print(msg);
  }

  /** @internal An evaluation error with the excerpt of its source. */
  error(
    code: 'eval_conflict_error' | 'eval_type_error' | 'eval_builtin_error' | 'rego_type_error',
    msg: string,
    loc?: Location,
  ): RegoError {
    return new RegoError(code, msg, loc, loc ? this.sources.get(loc.file) : undefined);
  }

  // ------------------------------------------------------------------ queries (query.ts)

  evalQuery(q: CompiledQuery, onSolution: (s: QuerySolution) => boolean | void): void {
    queries.evalQuery(this, q, onSolution);
  }

  // ------------------------------------------------------------------ bodies and expressions (body.ts)

  /** Evaluates a body from expression i (compiled by the tiers when i is 0). */
  evalBody(body: Body, i: number, f: Frame, k: K): boolean {
    return bodies.evalBody(this, body, i, f, k);
  }
  /** @internal The general evaluation of one expression. */
  evalExprGeneric(e: Expr, f: Frame, k: K): boolean {
    return bodies.evalExprGeneric(this, e, f, k);
  }
  /** @internal One expression without its `with` and `not`. */
  evalExprInner(e: Expr, f: Frame, k: K): boolean {
    return bodies.evalExprInner(this, e, f, k);
  }
  /** @internal Calls fn(key, value) for each element; arrays give index keys, sets the element twice. */
  iterate(coll: Value, fn: (k: Value, v: Value) => boolean): boolean {
    return bodies.iterate(this, coll, fn);
  }

  // ------------------------------------------------------------------ with (with.ts)

  /** @internal An expression under its `with` modifiers. */
  evalWith(e: Expr, f: Frame, k: K, inner?: (k: K) => boolean): boolean {
    return withs.evalWith(this, e, f, k, inner);
  }

  // ------------------------------------------------------------------ terms (terms.ts)

  evalTerm(t: Term, f: Frame, k: VK): boolean {
    return terms.evalTerm(this, t, f, k);
  }
  /** The single value of a term, or undefined (first value if it has several). */
  firstValue(t: Term, f: Frame): Value | undefined {
    return terms.firstValue(this, t, f);
  }
  /** @internal The single value of a term by the general path (comprehensions). */
  firstValueGeneric(t: Term, f: Frame): Value | undefined {
    return terms.firstValueGeneric(this, t, f);
  }
  /** @internal The values of terms, in order (each combination of them). */
  evalItems(items: Term[], i: number, f: Frame, acc: Value[], k: (items: Value[]) => boolean): boolean {
    return terms.evalItems(this, items, i, f, acc, k);
  }

  // ------------------------------------------------------------------ refs and data (refs.ts)

  /** @internal */
  evalRef(ts: Term[], f: Frame, k: VK): boolean {
    return refs.evalRef(this, ts, f, k);
  }
  /** @internal The full value of a data node (cached per evaluation). */
  nodeValue(node: RuleNode, base: Value | undefined, path: string[]): Value | undefined {
    return refs.nodeValue(this, node, base, path);
  }
  /** @internal A rule node's number in this tree's value caches, or -1. */
  nodeId(node: RuleNode): number {
    return this.vcache.id(node);
  }

  // ------------------------------------------------------------------ rules (rules.ts)

  /** @internal The value of a rule node (complete, set or object rule). */
  ruleValue(node: RuleNode): Value | undefined {
    return rules.ruleValue(this, node);
  }
  /**
   * @internal The value of the rule a constant data ref reaches (generated code). The cache hit,
   * by far the most frequent case (generated code calls this for every such ref), is answered
   * here without a further call; a miss goes to rules.ts.
   */
  ruleAt(r: RuleRef): Value | undefined {
    const v = this.vcache.at(r.id);
    return v !== NOT_CACHED ? v : rules.ruleAt(this, r);
  }
  /** @internal ruleAt's cache alone (generated code). */
  ruleCached(r: RuleRef): Value | undefined | typeof NOT_CACHED {
    return this.vcache.at(r.id);
  }
  /** @internal Keeps a rule's value for ruleCached (generated code). */
  ruleStore(r: RuleRef, v: Value | undefined): void {
    this.vcache.setAt(r.id, v);
  }
  /** @internal ruleAt after its whole evaluation returned MULTI (generated code). */
  ruleMissed(r: RuleRef): Value | undefined {
    return rules.ruleMissed(this, r);
  }
  /** @internal Calls the function at `r.node` (generated code). */
  callAt(r: FnRef, args: Value[]): Value | undefined {
    return rules.callAt(this, r, args);
  }
  /** @internal callAt after its whole evaluation returned MULTI (generated code). */
  callMissed(r: FnRef, args: Value[]): Value | undefined {
    return rules.callMissed(this, r, args);
  }
  callFunction(name: string, args: Value[], loc: Location): Value | undefined {
    return rules.callFunction(this, name, args, loc);
  }
  /** @internal Calls the function defined at a rule node. */
  callNode(node: RuleNode, args: Value[]): Value | undefined {
    return rules.callNode(this, node, args);
  }

  // ------------------------------------------------------------------ calls (calls.ts)

  /** @internal A call expression: holds if the call is not false, or unifies its output argument. */
  evalCallExpr(c: Call, f: Frame, k: K): boolean {
    return calls.evalCallExpr(this, c, f, k);
  }
  /** @internal The values of a call term. */
  evalCall(c: Call, f: Frame, k: VK): boolean {
    return calls.evalCall(this, c, f, k);
  }
  /** @internal */
  builtinFailed(name: string, e: unknown, loc: Location): boolean {
    return calls.builtinFailed(this, name, e, loc);
  }

  // ------------------------------------------------------------------ unification (unify.ts)

  unifyTerms(a: Term, b: Term, f: Frame, k: K): boolean {
    return unify.unifyTerms(this, a, b, f, k);
  }
  unifyValue(t: Term, v: Value, f: Frame, k: K): boolean {
    return unify.unifyValue(this, t, v, f, k);
  }
}
