import { MoatError, type MoatErrorOptions } from '../errors.js';

export type RuntimeErrorCode =
  | 'RUNTIME_INVALID_OPTION'
  | 'RUNTIME_LIMIT_UNSUPPORTED'
  | 'RUNTIME_RUNC_FAILED'
  | 'RUNTIME_RUNC_MISSING'
  | 'RUNTIME_CONTAINER_NOT_FOUND'
  | 'RUNTIME_NAME_IN_USE'
  | 'RUNTIME_AMBIGUOUS_ID'
  | 'RUNTIME_INVALID_STATE'
  | 'RUNTIME_START_FAILED'
  | 'RUNTIME_LOCK_TIMEOUT'
  | 'RUNTIME_UNSAFE_DIR'
  | 'RUNTIME_CORRUPT_STATE'
  | 'RUNTIME_CGROUP_FAILED';

export class RuntimeError extends MoatError {
  constructor(code: RuntimeErrorCode, message: string, opts?: MoatErrorOptions) {
    super(code, message, opts);
    this.name = 'RuntimeError';
  }
}
