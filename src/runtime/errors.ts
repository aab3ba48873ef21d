import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes of the runtime room (containers, runc, cgroups, moat's own directories). Scripts
 * and tests match on these, never on messages. Add new codes at the end of the list.
 */
export const RUNTIME_ERROR_CODES = [
  /** A run option is malformed or out of range. */
  'RUNTIME_INVALID_OPTION',
  /** A resource limit was asked for that this host's cgroups cannot enforce. */
  'RUNTIME_LIMIT_UNSUPPORTED',
  /** runc failed (its own message is carried along). */
  'RUNTIME_RUNC_FAILED',
  /** runc is not installed, or MOAT_RUNTIME does not name it. */
  'RUNTIME_RUNC_MISSING',
  /** No container matches a name or ID. */
  'RUNTIME_CONTAINER_NOT_FOUND',
  /** The name is taken by another container. */
  'RUNTIME_NAME_IN_USE',
  /** An ID prefix matches more than one container. */
  'RUNTIME_AMBIGUOUS_ID',
  /** The container is not in a state the operation accepts (start a running one, ...). */
  'RUNTIME_INVALID_STATE',
  /** The container could not be started (the message says at which step). */
  'RUNTIME_START_FAILED',
  /** A container's lock (or the names lock) was held by a live process for too long. */
  'RUNTIME_LOCK_TIMEOUT',
  /** One of moat's directories is not the user's own, or is open to others. */
  'RUNTIME_UNSAFE_DIR',
  /** A container's record cannot be read or is malformed. */
  'RUNTIME_CORRUPT_STATE',
  /** The container's cgroups could not be created or limited. */
  'RUNTIME_CGROUP_FAILED',
  /** A process could not join the container's cgroups, so it was not let go. */
  'RUNTIME_CGROUP_JOIN_FAILED',
  /** The container's command does not exist (exit 127, as docker). */
  'RUNTIME_COMMAND_NOT_FOUND',
  /** The container's command exists but cannot be executed (exit 126, as docker). */
  'RUNTIME_COMMAND_NOT_EXECUTABLE',
  /** An exec into the container failed before its command ran. */
  'RUNTIME_EXEC_FAILED',
  /** A host path the container uses is no longer the one the policy allowed. */
  'RUNTIME_HOST_PATH_CHANGED',
  /** A terminal (-t) was asked for and moat's console helper (moat-tty) is not built. */
  'RUNTIME_TTY_UNAVAILABLE',
  /** A path named in a container (cp, the archive routes) is not there. */
  'RUNTIME_PATH_NOT_FOUND',
  /** A copy into or out of a container was refused: an unsafe entry, a conflict, a read-only root. */
  'RUNTIME_COPY_REFUSED',
  /** Reading or writing a container's files failed (its namespace, its overlay, an I/O error). */
  'RUNTIME_COPY_FAILED',
  /** pause needs a freezer cgroup: none is delegated to the user, or the container has none. */
  'RUNTIME_PAUSE_UNSUPPORTED',
  /** No volume has that name. */
  'RUNTIME_VOLUME_NOT_FOUND',
  /** The volume is used by a container (running or not), so it is kept. */
  'RUNTIME_VOLUME_IN_USE',
  /** The network asked for cannot be given here (its stack is missing, /dev/net/tun unusable). */
  'RUNTIME_NETWORK_UNAVAILABLE',
  /** No network has that name (moat has none, slirp4netns and pasta). */
  'RUNTIME_NETWORK_NOT_FOUND',
  /** The network has containers on it (running or not), so it is kept. */
  'RUNTIME_NETWORK_IN_USE',
] as const;

export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

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
  RUNTIME_TTY_UNAVAILABLE: {
    http: 500,
    exit: EXIT.moat,
    hint: "moat's console helper is built by `npm run build` when gcc is installed (apt-get install gcc libc6-dev); or run without -t",
  },
  RUNTIME_PATH_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'paths in a container are absolute and resolved inside it: moat exec NAME ls -la DIR lists a running one',
  },
  RUNTIME_COPY_REFUSED: {
    http: 400,
    exit: EXIT.failure,
    hint: 'the message names the entry; nothing is copied through symlinks out of the container, over a directory, or as a device',
  },
  RUNTIME_COPY_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: 'moat info shows whether user namespaces and overlayfs work here; run again with --log-level debug',
  },
  RUNTIME_PAUSE_UNSUPPORTED: {
    http: 400,
    exit: EXIT.moat,
    hint: 'moat info shows whether a freezer cgroup is delegated to you (cgroups.delegated.freezer)',
  },
  RUNTIME_VOLUME_NOT_FOUND: { http: 404, exit: EXIT.failure, hint: 'list volumes with moat volume ls' },
  RUNTIME_VOLUME_IN_USE: {
    http: 409,
    exit: EXIT.failure,
    hint: 'remove the containers that use it first (moat ps -a --filter volume=NAME lists them)',
  },
  RUNTIME_NETWORK_UNAVAILABLE: {
    http: 500,
    exit: EXIT.moat,
    hint: 'the message says what is missing; --network none (the default) needs nothing',
  },
  RUNTIME_NETWORK_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'moat network ls lists the networks; moat network create NAME makes one',
  },
  RUNTIME_NETWORK_IN_USE: {
    http: 409,
    exit: EXIT.failure,
    hint: 'disconnect or remove the containers on it first (moat network inspect NAME lists them)',
  },
};

export class RuntimeError extends MoatError {
  declare readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'RuntimeError';
  }
}

export function isRuntimeError(e: unknown): e is RuntimeError {
  return e instanceof RuntimeError;
}
