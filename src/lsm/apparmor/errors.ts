import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../../errors.js';

/**
 * The closed set of codes the AppArmor room reports. Scripts and tests match on these, never on
 * messages. Add new codes at the end of the list.
 */
export const APPARMOR_ERROR_CODES = [
  /** A profile name with characters AppArmor or a shell would read as more than a name. */
  'APPARMOR_INVALID_NAME',
  /** A path of the container a profile cannot state exactly (a control character in it). */
  'APPARMOR_UNSAFE_PATH',
  /** apparmor_parser refused the generated profile (details carry its output). */
  'APPARMOR_PROFILE_INVALID',
  /** apparmor_parser is not installed, and validation was asked for. */
  'APPARMOR_PARSER_MISSING',
] as const;

export type AppArmorErrorCode = (typeof APPARMOR_ERROR_CODES)[number];

/** Statuses and default hints of every AppArmor code (see ErrorTable). */
export const APPARMOR_ERRORS: ErrorTable<AppArmorErrorCode> = {
  APPARMOR_INVALID_NAME: {
    http: 400,
    exit: EXIT.usage,
    hint: 'a profile name is letters, digits, _ . + - (starting with a letter or digit), at most 128 characters',
  },
  APPARMOR_UNSAFE_PATH: {
    http: 400,
    exit: EXIT.usage,
    hint: 'mount the volume at a path without control characters',
  },
  APPARMOR_PROFILE_INVALID: {
    http: 500,
    exit: EXIT.moat,
    hint: 'the generated profile did not parse: report it with the parser output shown (--no-validate writes it anyway, to look at)',
  },
  APPARMOR_PARSER_MISSING: {
    http: 500,
    exit: EXIT.moat,
    hint: 'install apparmor_parser (apt-get install apparmor) to check profiles, or pass --no-validate',
  },
};

export class AppArmorError extends MoatError {
  declare readonly code: AppArmorErrorCode;

  constructor(code: AppArmorErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'AppArmorError';
  }
}

export function isAppArmorError(e: unknown): e is AppArmorError {
  return e instanceof AppArmorError;
}
