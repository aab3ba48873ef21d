import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes of the user-namespace room: what this host lacks for rootless containers. Scripts
 * and tests match on these, never on messages. Add new codes at the end of the list.
 */
export const USERNS_ERROR_CODES = [
  /** Unprivileged user namespaces are disabled or unavailable. */
  'USERNS_UNAVAILABLE',
  /** newuidmap/newgidmap are missing, so the subordinate ID ranges cannot be used. */
  'USERNS_NO_NEWUIDMAP',
  /** The user has no range in /etc/subuid and /etc/subgid (container root would be host root). */
  'USERNS_NO_SUBIDS',
  /** Entering or setting up the user namespace failed (tools missing, paths out of reach). */
  'USERNS_SETUP_FAILED',
] as const;

export type UsernsErrorCode = (typeof USERNS_ERROR_CODES)[number];

/** Statuses and default hints of every user-namespace code (see ErrorTable). */
export const USERNS_ERRORS: ErrorTable<UsernsErrorCode> = {
  USERNS_UNAVAILABLE: {
    http: 500,
    exit: EXIT.moat,
    hint: 'moat needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0); moat info says what is missing',
  },
  USERNS_NO_NEWUIDMAP: {
    http: 500,
    exit: EXIT.moat,
    hint: 'install newuidmap and newgidmap: apt-get install uidmap',
  },
  USERNS_NO_SUBIDS: {
    http: 500,
    exit: EXIT.moat,
    hint: 'as root, give your user a range in /etc/subuid and /etc/subgid, e.g. USER:100000:65536',
  },
  USERNS_SETUP_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: 'moat info shows what this host offers; run again with --log-level debug for details',
  },
};

export class UsernsError extends MoatError {
  declare readonly code: UsernsErrorCode;

  constructor(code: UsernsErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'UsernsError';
  }
}

export function isUsernsError(e: unknown): e is UsernsError {
  return e instanceof UsernsError;
}
