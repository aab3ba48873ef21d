import { MoatError, type MoatErrorOptions } from '../errors.js';

export type ApiErrorCode =
  | 'API_INVALID_REQUEST'
  | 'API_NOT_FOUND'
  | 'API_NOT_IMPLEMENTED'
  | 'API_SOCKET_IN_USE'
  | 'POLICY_DENIED'
  | 'POLICY_ERROR';

export class ApiError extends MoatError {
  constructor(code: ApiErrorCode, message: string, opts?: MoatErrorOptions) {
    super(code, message, opts);
    this.name = 'ApiError';
  }
}
