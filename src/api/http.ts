/**
 * The HTTP helpers both APIs use (moat's `/v1` in server.ts, Docker's in docker/): who sent a
 * request, a JSON body in, a JSON answer out, and an error as the API shows it with its status.
 * They depend on nothing of the service itself, so the service and the Docker layer import them
 * without importing each other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { errorInfo } from '../error-table.js';
import { isMoatError } from '../errors.js';
import { ApiError } from './errors.js';
import type { Subject } from './router.js';
import type { ApiServerOptions } from './server-options.js';
import { DEFAULTS, readBody, type ServiceLimits } from './service-limits.js';

/** Who sent this request: the socket's owner, or the client certificate's common name. */
export function subjectOf(o: ApiServerOptions, req: IncomingMessage): Subject {
  if (!o.tcp) return o.subject;
  const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
  const user = Array.isArray(cn) ? cn[0] : cn;
  if (!user) throw new ApiError('API_INVALID_REQUEST', 'the client certificate has no common name');
  return { uid: -1, user, via: 'api', local: false, groups: [] };
}

/** Map a stable error code to an HTTP status: each room's error table says (src/error-table.ts). */
export function statusOf(code: string): number {
  return errorInfo(code).http;
}

/** The error as the API shows it: stable code, message, hint (the code's default when it has none). */
export function errorBody(e: unknown): { code: string; message: string; hint: string } {
  if (isMoatError(e)) return { code: e.code, message: e.message, hint: e.hint || errorInfo(e.code).hint };
  return {
    code: 'API_INTERNAL',
    message: e instanceof Error ? e.message : String(e),
    hint: errorInfo('API_INTERNAL').hint,
  };
}

/**
 * Read a JSON body (empty: `{}`); malformed bodies are API_INVALID_REQUEST, oversized ones
 * API_BODY_TOO_LARGE, late ones API_REQUEST_TIMEOUT. The server reads every body before it
 * dispatches (with its own limits); this returns the same bytes.
 */
export async function readJson(req: IncomingMessage, limits: ServiceLimits = DEFAULTS): Promise<unknown> {
  const text = (await readBody(req, limits)).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError('API_INVALID_REQUEST', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
