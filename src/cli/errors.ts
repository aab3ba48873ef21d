import { EXIT, type ErrorTable } from '../errors.js';

export type CliErrorCode = 'CLI_USAGE' | 'INTERNAL';

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
