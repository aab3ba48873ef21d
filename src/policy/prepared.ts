/**
 * A prepared query: a compiled query bound to a compiled policy and its data, evaluated many times.
 * Depends on the evaluator only, so the fast decision path (decide.ts) loads no parser or compiler.
 */
import type { Location, Rule, Term } from './ast.js';
import type { CompiledQuery } from './compiler.js';
import { Evaluator, type PolicyTree } from './eval.js';
import { StaticMemo } from './eval/static.js';
import { DEFAULT_LIMITS, UNLIMITED, type Limits } from './limits.js';
import { fromJSONLazy, toJSON, type Value } from './value.js';

export interface EvalOptions {
  /** Receives print() output with the call's location. */
  print?: (msg: string, loc: Location) => void;
  /** Fixed clock in ns since the epoch (time.now_ns). */
  now?: bigint;
  strictBuiltinErrors?: boolean;
  /** Keep integers beyond ±2^53 exact as `bigint` in results (serialise them with `jsonText`). */
  bigints?: boolean;
  /** Receives every rule whose body held (rule-level coverage, `moat policy test --coverage`). */
  covered?: (rule: Rule) => void;
  /**
   * Bounds of this evaluation (limits.ts): past them it stops with eval_cancel_error. Default: the
   * query's (from the engine or loadPolicy options), else DEFAULT_LIMITS; `false` for none.
   */
  limits?: Limits | false;
}

export interface ExpressionResult {
  value: unknown;
  text: string;
  location: { row: number; col: number };
}
export interface Result {
  expressions: ExpressionResult[];
  bindings: Record<string, unknown>;
}
export type ResultSet = Result[];

export class PreparedQuery {
  private readonly texts: string[];
  private readonly locs: { row: number; col: number }[];
  /** Rule values that only depend on the data (eval/static.ts), by strict builtin errors off / on. */
  private readonly memos: [StaticMemo | undefined, StaticMemo | undefined] = [undefined, undefined];
  /**
   * Evaluations so far. The first goes without the memo: finding which rules are static walks
   * every rule the query reaches (~2 ms of the default policy), which only pays from the second
   * evaluation on, and a CLI process makes one decision.
   */
  private evaluations = 0;

  constructor(
    private readonly tree: PolicyTree,
    private readonly data: Value,
    readonly query: CompiledQuery,
    private readonly defaults: { strictBuiltinErrors?: boolean; limits?: Limits | false } = {},
  ) {
    const byIndex = [...query.body].sort((a, b) => a.index - b.index);
    this.texts = byIndex.map((e) => query.text.slice(e.loc.start, e.loc.end));
    this.locs = byIndex.map((e) => ({ row: e.loc.row, col: e.loc.col }));
  }

  /**
   * Evaluates with `input` (plain JSON or a Value); returns every solution. Input objects are
   * converted as the policy reads them (see fromJSONLazy): they must not change during the call,
   * nor while a Value returned by `decide` or `evalValues` is in use.
   */
  eval(input?: unknown, opts: EvalOptions = {}): ResultSet {
    const only = this.constRef();
    if (only) {
      // `data.pkg.rule`: one value or none, no bindings; its value without solution bookkeeping
      const v = this.evaluator(input, opts).firstValue(only, new Array(this.query.nslots));
      if (v === undefined) return [];
      return [
        {
          expressions: [{ value: toJSON(v, opts.bigints), text: this.texts[0], location: this.locs[0] }],
          bindings: {},
        },
      ];
    }
    const out: ResultSet = [];
    this.evalValues(input, opts, (bindings, exprs) => {
      const b: Record<string, unknown> = {};
      for (const [k, v] of bindings) b[k] = toJSON(v, opts.bigints);
      out.push({
        expressions: exprs.map((v, i) => ({
          value: toJSON(v, opts.bigints),
          text: this.texts[i],
          location: this.locs[i],
        })),
        bindings: b,
      });
    });
    return out;
  }

  /**
   * The query's term when the query is one ref of constant keys from `data` or `input` (one value
   * or none: its only solution, with no bindings), else undefined.
   */
  private constRef(): Term | undefined {
    const q = this.query;
    if (q.body.length !== 1 || !q.capture[0] || q.checkCapture || q.vars.size > 0) return undefined;
    const e = q.body[0];
    if (e.with.length || e.negated || e.expr.type !== 'term') return undefined;
    const t = e.expr.term;
    if (t.type !== 'ref') return undefined;
    const [head, ...keys] = t.terms;
    if (head.type !== 'var' || head.slot >= 0 || (head.name !== 'data' && head.name !== 'input'))
      return undefined;
    return keys.every((k) => k.type === 'scalar' || k.type === 'const') ? t : undefined;
  }

  /** Lower-level: solutions as Rego values. Return true from `each` to stop early. */
  evalValues(
    input: unknown,
    opts: EvalOptions,
    each: (bindings: Map<string, Value>, exprs: Value[]) => boolean | void,
  ): void {
    this.evaluator(input, opts).evalQuery(this.query, (s) => each(s.bindings, s.expressions));
  }

  private evaluator(input: unknown, opts: EvalOptions): Evaluator {
    const strict = opts.strictBuiltinErrors ?? this.defaults.strictBuiltinErrors;
    const m = strict ? 1 : 0;
    return new Evaluator(this.tree, this.data, {
      input: input === undefined ? undefined : fromJSONLazy(input),
      memo:
        opts.covered || this.evaluations++ === 0 ? undefined : (this.memos[m] ??= new StaticMemo(this.tree)),
      strictBuiltinErrors: strict,
      print: opts.print,
      now: opts.now,
      covered: opts.covered,
      limits: limitsOf(opts.limits ?? this.defaults.limits),
    });
  }

  /** The value of the first expression of the first solution, or undefined. Fast path for decisions. */
  decide(input?: unknown, opts: EvalOptions = {}): Value | undefined {
    const q = this.query;
    const only = q.body.length === 1 ? q.body[0] : undefined;
    if (only && q.capture[0] && only.expr.type === 'term' && !only.with.length) {
      // `data.pkg.rule`, the usual decision query: its first value, without solution bookkeeping
      return this.evaluator(input, opts).firstValue(only.expr.term, new Array(q.nslots));
    }
    let out: Value | undefined;
    this.evalValues(input, opts, (_b, exprs) => {
      out = exprs[0];
      return true;
    });
    return out;
  }
}

function limitsOf(l: Limits | false | undefined): Limits {
  if (l === false) return UNLIMITED;
  if (l === undefined) return DEFAULT_LIMITS;
  return { steps: l.steps ?? DEFAULT_LIMITS.steps, ms: l.ms ?? DEFAULT_LIMITS.ms };
}
