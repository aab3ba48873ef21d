import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes of the API room (the HTTP service and the router's refusals). Scripts and tests
 * match on these, never on messages. Add new codes at the end of the list.
 */
export const API_ERROR_CODES = [
  /** The request body or query does not match the route's schema. */
  'API_INVALID_REQUEST',
  /** No route answers this method and path. */
  'API_NOT_FOUND',
  /** A Docker endpoint moat knows of but does not offer. */
  'API_NOT_IMPLEMENTED',
  /** Another service already listens on the socket. */
  'API_SOCKET_IN_USE',
  /** The socket path is longer than a unix socket address can hold. */
  'API_SOCKET_PATH_TOO_LONG',
  /** The body is larger than the route (or the service's upload limit) accepts. */
  'API_BODY_TOO_LARGE',
  /** The request line and headers are larger than Node accepts. */
  'API_HEADERS_TOO_LARGE',
  /** The client stalled while sending its request. */
  'API_REQUEST_TIMEOUT',
  /** Every connection the service allows is in use. */
  'API_BUSY',
  /** The store's filesystem has no room for an uploaded archive. */
  'API_INSUFFICIENT_STORAGE',
  /** The policy denied the request (the router's answer before any handler runs). */
  'POLICY_DENIED',
  /** The policy could not decide the request (it failed while evaluated): refused. */
  'POLICY_ERROR',
  /** A handler failed in a way moat did not foresee. */
  'API_INTERNAL',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Statuses and default hints of every API code (see ErrorTable). */
export const API_ERRORS: ErrorTable<ApiErrorCode> = {
  API_INVALID_REQUEST: {
    http: 400,
    exit: EXIT.usage,
    hint: "the request body must match the route's schema (moat COMMAND --help for the CLI's flags)",
  },
  API_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: "moat's own API is under /v1/ (GET /v1/containers, ...); the README lists the Docker endpoints moat serves",
  },
  API_NOT_IMPLEMENTED: {
    http: 501,
    exit: EXIT.failure,
    hint: 'moat does not offer this yet; the README says what the API serves',
  },
  API_SOCKET_IN_USE: {
    http: 409,
    exit: EXIT.failure,
    hint: 'another moat system service is listening there: stop it, or give --socket PATH',
  },
  API_SOCKET_PATH_TOO_LONG: {
    http: 400,
    exit: EXIT.usage,
    hint: 'a unix socket path has at most 107 bytes: set XDG_RUNTIME_DIR to a short private directory (mode 0700), or pass --socket with a shorter path',
  },
  API_BODY_TOO_LARGE: {
    http: 413,
    exit: EXIT.usage,
    hint: 'JSON bodies are small; an image archive may be as large as the service allows (moat system service --max-upload SIZE)',
  },
  API_HEADERS_TOO_LARGE: {
    http: 431,
    exit: EXIT.usage,
    hint: "send fewer or shorter headers: the request line and headers may take 16 KiB (Node's limit)",
  },
  API_REQUEST_TIMEOUT: {
    http: 408,
    exit: EXIT.failure,
    hint: 'send the whole request without pausing (the service closes connections that stall: moat system service --help lists the timeouts)',
  },
  API_BUSY: {
    http: 503,
    exit: EXIT.failure,
    hint: 'every connection the service allows is busy with a request: retry later, or raise moat system service --max-connections',
  },
  API_INSUFFICIENT_STORAGE: {
    http: 507,
    exit: EXIT.failure,
    hint: "free space on the filesystem of moat's store (moat image prune removes unused images and leftovers), then send the archive again",
  },
  POLICY_DENIED: {
    http: 403,
    exit: EXIT.policyDenied,
    hint: 'ask the owner of the policy, or change the request',
  },
  POLICY_ERROR: {
    http: 500,
    exit: EXIT.policyDenied,
    hint: 'fix the policy (moat policy check DIR) and retry',
  },
  API_INTERNAL: {
    http: 500,
    exit: EXIT.moat,
    hint: 'this is a bug in moat: the service log (--log-level debug) says where it failed; please report it',
  },
};

export class ApiError extends MoatError {
  declare readonly code: ApiErrorCode;

  constructor(code: ApiErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'ApiError';
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
