import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Codes of moat-runtime, the OCI runtime front end. Every one exits 1, as runc exits on any error
 * (conmon and containerd's shim look only for a non-zero status and read the message from the
 * log file). Add new codes at the end of the list.
 */
export const OCI_ERROR_CODES = [
  /** An unknown command or flag, a missing argument or flag value (runc's "Incorrect Usage"). */
  'OCI_USAGE',
  /** A container ID runc would refuse (runc's `^[\w+-\.]+$`, not `.` or `..`). */
  'OCI_INVALID_ID',
  /** A flag or command moat-runtime does not support (`--systemd-cgroup` without systemd, checkpoint, restore). */
  'OCI_UNSUPPORTED',
  /** The bundle or its config.json cannot be read safely (missing, a symlink, too large). */
  'OCI_BUNDLE_INVALID',
  /** config.json is not a spec moat can judge (not JSON, wrong shape, ambiguous keys). */
  'OCI_SPEC_INVALID',
  /** moat's OCI runtime configuration (oci.json) is invalid. */
  'OCI_CONFIG_INVALID',
  /** The runtime moat hands containers to (runc) could not be started. */
  'OCI_RUNTIME_MISSING',
  /** The moat service named in oci.json refused, could not be reached or answered badly. */
  'OCI_SERVICE',
] as const;

export type OciErrorCode = (typeof OCI_ERROR_CODES)[number];

/** Statuses and default hints of every OCI runtime code (see ErrorTable). */
export const OCI_ERRORS: ErrorTable<OciErrorCode> = {
  OCI_USAGE: {
    http: 400,
    exit: EXIT.failure,
    hint: 'moat-runtime takes runc’s command line: moat-runtime [global flags] COMMAND [flags] ID',
  },
  OCI_INVALID_ID: {
    http: 400,
    exit: EXIT.failure,
    hint: 'a container ID is letters, digits and _ + , - . (not "." or "..")',
  },
  OCI_UNSUPPORTED: {
    http: 400,
    exit: EXIT.failure,
    hint: 'configure the caller for cgroupfs (podman: cgroup_manager = "cgroupfs"; containerd: SystemdCgroup = false)',
  },
  OCI_BUNDLE_INVALID: {
    http: 400,
    exit: EXIT.failure,
    hint: 'the bundle must be a directory holding a regular file config.json (not a symlink), at most 4 MiB',
  },
  OCI_SPEC_INVALID: {
    http: 400,
    exit: EXIT.failure,
    hint: 'config.json must be an OCI runtime spec with exactly-spelled keys',
  },
  OCI_CONFIG_INVALID: {
    http: 500,
    exit: EXIT.failure,
    hint: 'fix $MOAT_OCI_CONFIG or ~/.config/moat/oci.json ({"mode": "enforce"|"audit"|"off", ...})',
  },
  OCI_RUNTIME_MISSING: {
    http: 500,
    exit: EXIT.failure,
    hint: 'install runc, or name the runtime with --runtime-binary PATH or MOAT_RUNTIME=PATH',
  },
  OCI_SERVICE: {
    http: 502,
    exit: EXIT.failure,
    hint: 'start `moat system service` on the socket oci.json names, or remove "service" to decide in-process',
  },
};

export class OciError extends MoatError {
  declare readonly code: OciErrorCode;

  constructor(code: OciErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'OciError';
  }
}

export function isOciError(e: unknown): e is OciError {
  return e instanceof OciError;
}
