import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

export type UsernsErrorCode =
  'USERNS_UNAVAILABLE' | 'USERNS_NO_NEWUIDMAP' | 'USERNS_NO_SUBIDS' | 'USERNS_SETUP_FAILED';

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
  constructor(code: UsernsErrorCode, message: string, opts?: MoatErrorOptions) {
    super(code, message, opts);
    this.name = 'UsernsError';
  }
}
