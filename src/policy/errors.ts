/**
 * Policy errors. `code` is one of OPA's codes so scripts written against `opa` keep matching, and
 * `format()` prints `file:line:col: code: message` followed by the source line and a caret.
 */
import { EXIT, MoatError, type ErrorTable } from '../errors.js';
import type { Location } from './ast.js';

/**
 * Stable codes of the policy room: OPA's own codes (lower case, as `opa` prints them), then moat's.
 * Scripts and tests match on these, never on messages. Add new codes at the end of the list.
 */
export const REGO_ERROR_CODES = [
  /** The source does not parse. */
  'rego_parse_error',
  /** The module parses but does not compile (unknown function, bad reference, ...). */
  'rego_compile_error',
  /** A variable is used where no positive expression of the body binds it. */
  'rego_unsafe_var_error',
  /** A rule depends on itself. */
  'rego_recursion_error',
  /** A builtin is called with arguments of the wrong types (found while compiling). */
  'rego_type_error',
  /** A complete rule or function produced two different values. */
  'eval_conflict_error',
  /** A builtin got an operand of the wrong type while the policy was evaluated. */
  'eval_type_error',
  /** A builtin failed while the policy was evaluated. */
  'eval_builtin_error',
  /** The evaluation ran out of its budget (steps or time). */
  'eval_cancel_error',
  /** A policy, data or input file cannot be read. */
  'POLICY_IO_ERROR',
  /** A Wasm bundle cannot be loaded or evaluated. */
  'POLICY_WASM_ERROR',
  /** A `moat policy` command was given an argument it cannot use. */
  'POLICY_INVALID_ARGUMENT',
] as const;

export type RegoErrorCode = (typeof REGO_ERROR_CODES)[number];

const FIX_SOURCE = 'fix the policy at the file:line:col given (moat policy check DIR lists every error)';
const FIX_EVAL = 'the policy failed while it was evaluated: fix the rule at the location given';

/**
 * Statuses and default hints of every policy code (see ErrorTable). Errors in a policy are its
 * author's to fix (exit 1, like opa); a policy that cannot decide a request is POLICY_ERROR.
 */
export const POLICY_ERRORS: ErrorTable<RegoErrorCode> = {
  rego_parse_error: { http: 400, exit: EXIT.failure, hint: FIX_SOURCE },
  rego_compile_error: { http: 400, exit: EXIT.failure, hint: FIX_SOURCE },
  rego_unsafe_var_error: {
    http: 400,
    exit: EXIT.failure,
    hint: 'bind the variable in a positive expression of the same rule body before it is used',
  },
  rego_recursion_error: {
    http: 400,
    exit: EXIT.failure,
    hint: 'rules may not depend on themselves: break the cycle',
  },
  rego_type_error: { http: 400, exit: EXIT.failure, hint: FIX_SOURCE },
  eval_conflict_error: {
    http: 500,
    exit: EXIT.failure,
    hint: 'a complete rule or function produced two different values: make its bodies exclusive, or give it an else',
  },
  eval_type_error: { http: 500, exit: EXIT.failure, hint: FIX_EVAL },
  eval_builtin_error: { http: 500, exit: EXIT.failure, hint: FIX_EVAL },
  eval_cancel_error: {
    http: 500,
    exit: EXIT.moat,
    hint: 'the evaluation ran out of its budget (steps or time): make the rule do less work, or raise MOAT_POLICY_MAX_STEPS / MOAT_POLICY_TIMEOUT_MS',
  },
  POLICY_IO_ERROR: {
    http: 500,
    exit: EXIT.failure,
    hint: 'check the paths given with -d, -i or $MOAT_POLICY',
  },
  POLICY_WASM_ERROR: {
    http: 500,
    exit: EXIT.failure,
    hint: 'the bundle must come from opa build -t wasm -e ENTRYPOINT; build it again',
  },
  POLICY_INVALID_ARGUMENT: {
    http: 400,
    exit: EXIT.usage,
    hint: 'moat policy COMMAND --help lists the arguments',
  },
};

export interface ErrorLocation {
  file: string;
  row: number;
  col: number;
}

export class RegoError extends MoatError {
  declare readonly code: RegoErrorCode;
  readonly location?: ErrorLocation;
  /** The full source line the location points into, for the caret display. */
  readonly sourceLine?: string;

  constructor(
    code: RegoErrorCode,
    message: string,
    loc?: Location,
    source?: string,
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, message, {
      ...opts,
      details: loc ? { file: loc.file, row: loc.row, col: loc.col } : undefined,
    });
    this.name = 'RegoError';
    if (loc) {
      this.location = { file: loc.file, row: loc.row, col: loc.col };
      if (source !== undefined) this.sourceLine = source.split('\n')[loc.row - 1];
    }
  }

  /** `file:line:col: code: message`, then the source line and a caret under the column. */
  format(): string {
    const l = this.location;
    const head = l
      ? `${l.file || '<query>'}:${l.row}:${l.col}: ${this.code}: ${this.message}`
      : `${this.code}: ${this.message}`;
    if (!l || this.sourceLine === undefined) return head;
    const line = this.sourceLine.replace(/\t/g, ' ');
    return `${head}\n\t${line}\n\t${' '.repeat(Math.max(0, l.col - 1))}^`;
  }
}

export function isRegoError(e: unknown): e is RegoError {
  return e instanceof RegoError;
}

/** Several compile or parse errors reported together, like OPA's `N errors occurred`. */
export class RegoErrors extends MoatError {
  declare readonly code: RegoErrorCode;
  readonly errors: RegoError[];
  constructor(errors: RegoError[]) {
    super(
      errors[0]?.code ?? 'rego_compile_error',
      errors.length === 1 ? errors[0].message : `${errors.length} errors occurred`,
      {
        details: { errors: errors.map((e) => e.toJSON()) },
      },
    );
    this.name = 'RegoErrors';
    this.errors = errors;
  }
  format(): string {
    const body = this.errors.map((e) => e.format()).join('\n');
    return this.errors.length === 1 ? body : `${this.errors.length} errors occurred:\n${body}`;
  }
}

/** Raised by builtins; the evaluator turns it into eval_builtin_error / eval_type_error with a location. */
export class BuiltinError extends Error {
  constructor(
    message: string,
    readonly kind: 'builtin' | 'type' = 'builtin',
  ) {
    super(message);
  }
}

/** Thrown when a builtin argument has the wrong type: `name: operand N must be T but got U`. */
export function operandError(fn: string, pos: number, want: string, got: string): BuiltinError {
  return new BuiltinError(`${fn}: operand ${pos} must be ${want} but got ${got}`, 'type');
}
