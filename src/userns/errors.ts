import { MoatError, type MoatErrorOptions } from '../errors.js';

export type UsernsErrorCode =
  'USERNS_UNAVAILABLE' | 'USERNS_NO_NEWUIDMAP' | 'USERNS_NO_SUBIDS' | 'USERNS_SETUP_FAILED';

export class UsernsError extends MoatError {
  constructor(code: UsernsErrorCode, message: string, opts?: MoatErrorOptions) {
    super(code, message, opts);
    this.name = 'UsernsError';
  }
}
