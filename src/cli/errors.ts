import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes of the CLI room. Scripts and tests match on these, never on messages. Add new
 * codes at the end of the list.
 */
export const CLI_ERROR_CODES = [
  /** An unknown command or flag, a missing argument, a flag value the CLI cannot parse. */
  'CLI_USAGE',
  /** Anything thrown that is not a MoatError: a bug, reported as such (see describeError). */
  'INTERNAL',
] as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** Statuses and default hints of the CLI's own codes (see ErrorTable). */
export const CLI_ERRORS: ErrorTable<CliErrorCode> = {
  CLI_USAGE: {
    http: 400,
    exit: EXIT.usage,
    hint: 'moat --help lists the commands; moat COMMAND --help its options',
  },
  /** Anything thrown that is not a MoatError: a bug, reported as such. */
  INTERNAL: {
    http: 500,
    exit: EXIT.moat,
    hint: 'this is a bug in moat: run the command again with --log-level debug to see where it failed, and report that',
  },
};

export class CliError extends MoatError {
  declare readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'CliError';
  }
}

export function isCliError(e: unknown): e is CliError {
  return e instanceof CliError;
}

/** CLI_USAGE: the command line is wrong (the message says how; the hint, what to type instead). */
export class UsageError extends CliError {
  declare readonly code: 'CLI_USAGE';

  constructor(message: string, opts: MoatErrorOptions = {}) {
    super('CLI_USAGE', message, opts);
    this.name = 'UsageError';
  }
}
