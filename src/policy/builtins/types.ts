/** The shape of a builtin: its declaration (data) and its implementation (code, one file per family). */
import type { Value } from '../value.js';
import type { Family } from './decl.js';

export interface BuiltinDecl {
  name: string;
  /** The file under builtins/ that implements it (`core`: the evaluator). */
  family: Family;
  /** Argument type names (informational, and for arity); null = variadic. */
  args: string[] | null;
  result: string;
  /** Results differ between calls with the same arguments (time, rand, uuid): cached per evaluation. */
  nondeterministic?: boolean;
  /** Produces several outputs (a relation), like `walk`. */
  relation?: boolean;
  /** Deprecated in OPA v1; not available to v1 modules. */
  deprecated?: boolean;
}

export interface BuiltinContext {
  /** Evaluation start time, fixed for the whole evaluation (time.now_ns). */
  readonly now: bigint;
  /** Per-evaluation cache for nondeterministic results and compiled regexes. */
  readonly cache: Map<string, unknown>;
  /** Writes a print() line. */
  print(msg: string): void;
  /** Records a trace() note. */
  trace(msg: string): void;
  /**
   * Charges `n` steps of the evaluation's budget (limits.ts) for work about to be done; throws
   * eval_cancel_error when the budget is spent. Call it before the work (and outside any
   * try/catch that would swallow the error).
   */
  charge(n: number): void;
}

export type BuiltinImpl = (args: Value[], ctx: BuiltinContext) => Value | undefined;
/** Relations return every output. */
export type RelationImpl = (args: Value[], ctx: BuiltinContext) => Value[];
