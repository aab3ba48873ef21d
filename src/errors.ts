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
