import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

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
  | 'RUNTIME_CGROUP_FAILED'
  | 'RUNTIME_CGROUP_JOIN_FAILED'
  | 'RUNTIME_COMMAND_NOT_FOUND'
  | 'RUNTIME_COMMAND_NOT_EXECUTABLE'
  | 'RUNTIME_EXEC_FAILED'
  | 'RUNTIME_HOST_PATH_CHANGED';

/** Statuses and default hints of every runtime code (see ErrorTable). */
export const RUNTIME_ERRORS: ErrorTable<RuntimeErrorCode> = {
  RUNTIME_INVALID_OPTION: {
    http: 400,
    exit: EXIT.usage,
    hint: 'moat run --help lists the options and their syntax',
  },
  RUNTIME_LIMIT_UNSUPPORTED: {
    http: 400,
    exit: EXIT.moat,
    hint: 'moat info shows which cgroup controllers are delegated to you; drop the limit or have them delegated',
  },
  RUNTIME_RUNC_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: "runc's own message is above; run again with --log-level debug for moat's side",
  },
  RUNTIME_RUNC_MISSING: {
    http: 500,
    exit: EXIT.moat,
    hint: 'install runc (apt-get install runc), or set MOAT_RUNTIME to its path',
  },
  RUNTIME_CONTAINER_NOT_FOUND: { http: 404, exit: EXIT.failure, hint: 'list containers with moat ps -a' },
  RUNTIME_NAME_IN_USE: {
    http: 409,
    exit: EXIT.failure,
    hint: 'remove the other container (moat rm NAME), or choose another --name',
  },
  RUNTIME_AMBIGUOUS_ID: {
    http: 400,
    exit: EXIT.failure,
    hint: 'give more characters of the ID, or the name (moat ps -a lists both)',
  },
  RUNTIME_INVALID_STATE: {
    http: 409,
    exit: EXIT.failure,
    hint: "moat ps -a shows each container's state",
  },
  RUNTIME_START_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: 'moat inspect NAME shows the spec the container was started with',
  },
  RUNTIME_LOCK_TIMEOUT: {
    http: 500,
    exit: EXIT.moat,
    hint: 'another moat command is working on the same object: retry when it has finished',
  },
  RUNTIME_UNSAFE_DIR: {
    http: 500,
    exit: EXIT.moat,
    hint: "moat's directories must be owned by you and closed to others (mode 0700): fix their owner and mode, or set XDG_RUNTIME_DIR",
  },
  RUNTIME_CORRUPT_STATE: {
    http: 500,
    exit: EXIT.moat,
    hint: 'remove the container with moat rm -f, then create it again',
  },
  RUNTIME_CGROUP_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: 'moat info shows the cgroup controllers delegated to you',
  },
  RUNTIME_CGROUP_JOIN_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: "nothing runs outside a container's limits: its cgroups were removed or made unwritable behind moat's back; stop and start the container to recreate them (moat info shows the delegated controllers)",
  },
  RUNTIME_COMMAND_NOT_FOUND: {
    http: 400,
    exit: EXIT.commandNotFound,
    hint: "check the command's name and the container's PATH, or give an absolute path",
  },
  RUNTIME_COMMAND_NOT_EXECUTABLE: {
    http: 400,
    exit: EXIT.cannotExecute,
    hint: 'the file exists but cannot be executed: check its mode (chmod +x) and format',
  },
  RUNTIME_EXEC_FAILED: {
    http: 500,
    exit: EXIT.cannotExecute,
    hint: "runc's reason is in the message; moat inspect NAME shows the container's spec",
  },
  RUNTIME_HOST_PATH_CHANGED: {
    http: 409,
    exit: EXIT.failure,
    hint: 'a host path the container uses is not the one the policy allowed: put it back, or remove the container and create it again',
  },
};

export class RuntimeError extends MoatError {
  constructor(code: RuntimeErrorCode, message: string, opts?: MoatErrorOptions) {
    super(code, message, opts);
    this.name = 'RuntimeError';
  }
}
