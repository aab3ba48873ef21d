/**
 * The base of every error moat reports on purpose. A `code` is stable (scripts and tests match on
 * it, never on the message); `hint` tells the user what to do next.
 */
export interface MoatErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts, printed by `--format json`. */
  details?: Record<string, unknown>;
}

export class MoatError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: MoatErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MoatError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/**
 * Exit statuses of the CLI (docker's where docker has one): 125 when moat itself or the host
 * failed, 126/127 when the container's command could not be run; user errors are 1 or 2.
 */
export const EXIT = {
  ok: 0,
  /** The object is missing or in the wrong state; credentials refused; a conflict. */
  failure: 1,
  /** Usage: an unknown command or flag, an invalid option value or request body. */
  usage: 2,
  policyDenied: 3,
  untrusted: 4,
  /** `moat check`: a vulnerability threshold is set but no vulnerability database was given. */
  noVulnDatabase: 6,
  moat: 125,
  cannotExecute: 126,
  commandNotFound: 127,
} as const;

/** What a stable code means to the two transports, and what to tell the user by default. */
export interface ErrorInfo {
  /** The HTTP status of the API's answer. */
  http: number;
  /** The CLI's exit status. */
  exit: number;
  /** What to do next: shown when the error carries no more specific hint. Never empty. */
  hint: string;
}

/**
 * One per room, beside its codes: the type makes a code without a row (and so without a hint
 * or statuses) a compile error. src/error-table.ts joins them.
 */
export type ErrorTable<C extends string> = { readonly [K in C]: ErrorInfo };

export function isMoatError(e: unknown): e is MoatError {
  return e instanceof MoatError;
}

/** The errno-style code of a Node system error, if any. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' &&
    e !== null &&
    'code' in e &&
    typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}
