/**
 * The library API: load modules and data once, prepare a query once, evaluate it many times.
 * Results are shaped like OPA's: [{ expressions: [{ value, text, location }], bindings }].
 */
import './builtins/index.js';
import type { Module } from './ast.js';
import { Compiler } from './compiler.js';
import { RegoError, RegoErrors } from './errors.js';
import type { Limits } from './limits.js';
import { PreparedQuery, type EvalOptions, type ResultSet } from './prepared.js';
import { parseModule, parseQuery } from './parser.js';
import { RObject, fromJSON, type Value } from './value.js';

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
  /** Bounds of each evaluation (see limits.ts); default DEFAULT_LIMITS, `false` for none. */
  limits?: Limits | false;
}

export type { EvalOptions, ExpressionResult, Result, ResultSet } from './prepared.js';

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
    return new PreparedQuery(this.compiler, this.data, q, this.opts);
  }

  /** Convenience: prepare + eval. */
  eval(query: string, input?: unknown, opts: EvalOptions = {}): ResultSet {
    return this.prepare(query).eval(input, opts);
  }
}

export { PreparedQuery };
