/**
 * The library API: load modules and data once, prepare a query once, evaluate it many times.
 * Results are shaped like OPA's: [{ expressions: [{ value, text, location }], bindings }].
 */
import './builtins/index.js';
import type { Location, Module } from './ast.js';
import { Compiler, type CompiledQuery } from './compiler.js';
import { RegoError, RegoErrors } from './errors.js';
import { Evaluator } from './eval.js';
import { parseModule, parseQuery } from './parser.js';
import { RObject, fromJSON, toJSON, type Value } from './value.js';

export interface ModuleSource {
  /** File name used in error locations. */
  file: string;
  text: string;
}

export interface EngineOptions {
  /** Read modules as Rego v0 (OPA's `--v0-compatible`). Default false (v1). */
  v0Compatible?: boolean;
  /** Builtin errors abort evaluation (OPA's `--strict-builtin-errors`). Default false. */
  strictBuiltinErrors?: boolean;
}

export interface EvalOptions {
  /** Receives print() output with the call's location. */
  print?: (msg: string, loc: Location) => void;
  /** Fixed clock in ns since the epoch (time.now_ns). */
  now?: bigint;
  strictBuiltinErrors?: boolean;
  /** Keep integers beyond ±2^53 exact as `bigint` in results (serialise them with `jsonText`). */
  bigints?: boolean;
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

export class PolicyEngine {
  readonly compiler: Compiler;
  private readonly data: Value;
  private readonly opts: EngineOptions;

  constructor(modules: ModuleSource[] | Module[], data: unknown = {}, opts: EngineOptions = {}) {
    this.opts = opts;
    const parsed: Module[] = [];
    const errors: RegoError[] = [];
    for (const m of modules) {
      if ('package' in m) {
        parsed.push(m);
        continue;
      }
      try {
        parsed.push(parseModule(m.text, m.file, { regoVersion: opts.v0Compatible ? 0 : 1 }));
      } catch (e) {
        if (e instanceof RegoError) errors.push(e);
        else throw e;
      }
    }
    if (errors.length) throw new RegoErrors(errors);
    this.compiler = new Compiler(parsed).compile();
    this.data = data instanceof RObject ? data : fromJSON(data ?? {});
  }

  /** Parses and compiles a query once; evaluate the result many times. */
  prepare(query: string, opts: { package?: string[] } = {}): PreparedQuery {
    const body = parseQuery(query, { regoVersion: 1 });
    const q = this.compiler.compileQuery(body, query, opts.package ?? []);
    return new PreparedQuery(this, q);
  }

  /** Convenience: prepare + eval. */
  eval(query: string, input?: unknown, opts: EvalOptions = {}): ResultSet {
    return this.prepare(query).eval(input, opts);
  }

  /** @internal */
  evaluator(input: Value | undefined, opts: EvalOptions): Evaluator {
    return new Evaluator(this.compiler, this.data, {
      input,
      strictBuiltinErrors: opts.strictBuiltinErrors ?? this.opts.strictBuiltinErrors,
      print: opts.print,
      now: opts.now,
    });
  }
}

export class PreparedQuery {
  private readonly texts: string[];
  private readonly locs: { row: number; col: number }[];

  constructor(
    private readonly engine: PolicyEngine,
    readonly query: CompiledQuery,
  ) {
    const byIndex = [...query.body].sort((a, b) => a.index - b.index);
    this.texts = byIndex.map((e) => query.text.slice(e.loc.start, e.loc.end));
    this.locs = byIndex.map((e) => ({ row: e.loc.row, col: e.loc.col }));
  }

  /** Evaluates with `input` (plain JSON or a Value); returns every solution. */
  eval(input?: unknown, opts: EvalOptions = {}): ResultSet {
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

  /** Lower-level: solutions as Rego values. Return true from `each` to stop early. */
  evalValues(
    input: unknown,
    opts: EvalOptions,
    each: (bindings: Map<string, Value>, exprs: Value[]) => boolean | void,
  ): void {
    const iv = input === undefined ? undefined : fromJSON(input);
    const ev = this.engine.evaluator(iv, opts);
    ev.evalQuery(this.query, (s) => each(s.bindings, s.expressions));
  }

  /** The value of the first expression of the first solution, or undefined. Fast path for decisions. */
  decide(input?: unknown, opts: EvalOptions = {}): Value | undefined {
    let out: Value | undefined;
    this.evalValues(input, opts, (_b, exprs) => {
      out = exprs[0];
      return true;
    });
    return out;
  }
}
