/**
 * The HTTP API (`moat system service`), on a unix socket or on TCP with mutual TLS. Every request becomes a router request
 * `{ subject, method, path, body }` — the same path the CLI takes in-process, policy check
 * included — so the API adds transport, not behaviour:
 *
 * - `/v1/<route>`: moat's own API, one route per router route (`POST /v1/containers/create`,
 *   `GET /v1/images`, ...), JSON in and out; errors as `{ code, message, hint }`.
 * - everything else: the subset of Docker's Engine API that `docker` needs for ps, images,
 *   pull, create, start, wait, logs, stop, kill, rm, rmi, inspect, info and version
 *   (docker-api.ts), translated onto the same routes.
 *
 * Who may connect: the socket is made 0600 inside a 0700 directory, so only its owner (and root)
 * can; the subject of every request is that owner, `via: 'api'`, `local: true`. Node cannot read
 * a peer's credentials (SO_PEERCRED), so the file mode is the authentication, as for Docker's
 * socket. On TCP, TLS with a client certificate signed by the given CA is required (never plain
 * TCP); the subject is the certificate's common name, `local: false`, which the default policy
 * allows only when listed in `data.moat.remote_users`.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as path from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { errorInfo } from '../error-table.js';
import { isMoatError } from '../errors.js';
import { dockerApi } from './docker-api.js';
import { ApiError } from './errors.js';
import type { ApiRequest, Router, Subject } from './router.js';

/** Request bodies are small JSON documents; anything larger is refused. */
export const MAX_BODY = 4 << 20;

export interface TcpListen {
  host: string;
  port: number;
  /** PEM: the server's certificate and key, and the CA that signs client certificates. */
  cert: string;
  key: string;
  ca: string;
}

export interface ApiServerOptions {
  /** A unix socket path, or TCP with mutual TLS. */
  socket?: string;
  tcp?: TcpListen;
  router: Router;
  /** The unix socket's subject (its owner); TCP subjects come from client certificates. */
  subject: Subject;
  version: string;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** Who sent this request: the socket's owner, or the client certificate's common name. */
export function subjectOf(o: ApiServerOptions, req: IncomingMessage): Subject {
  if (!o.tcp) return o.subject;
  const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
  const user = Array.isArray(cn) ? cn[0] : cn;
  if (!user) throw new ApiError('API_INVALID_REQUEST', 'the client certificate has no common name');
  return { uid: -1, user, via: 'api', local: false, groups: [] };
}

export interface ApiServer {
  server: Server;
  close: () => Promise<void>;
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

/** Read a JSON body (empty: `{}`); malformed or oversized bodies are API_INVALID_REQUEST. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new ApiError('API_INVALID_REQUEST', `request body larger than ${MAX_BODY} bytes`);
    parts.push(c);
  }
  const text = Buffer.concat(parts).toString('utf8').trim();
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

const METHODS = new Set(['GET', 'POST', 'DELETE']);

/**
 * Routes whose archive a client may send as the request body (`content-type: application/x-tar`)
 * instead of naming a file on the service's host, which remote subjects may not: the body is the
 * request's stdin (`file: "-"`); import takes its name (and `change`s) from the query.
 */
const UPLOADS: Record<string, (q: URLSearchParams) => Record<string, unknown>> = {
  '/images/load': () => ({ file: '-' }),
  '/images/import': (q) => ({
    file: '-',
    name: q.get('name') ?? '',
    ...(q.getAll('change').length ? { changes: q.getAll('change') } : {}),
  }),
};

/** moat's own API: `/v1/<route>`, the router's paths and bodies as they are. */
async function native(
  o: ApiServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  p: string,
  query: URLSearchParams = new URLSearchParams(),
): Promise<void> {
  try {
    const method = req.method ?? 'GET';
    if (!METHODS.has(method)) throw new ApiError('API_NOT_FOUND', `${method} is not allowed on ${p}`);
    const upload =
      method === 'POST' && /^application\/(x-tar|octet-stream)\b/.test(req.headers['content-type'] ?? '')
        ? UPLOADS[p]
        : undefined;
    const body = upload ? upload(query) : await readJson(req);
    const r: ApiRequest = {
      subject: subjectOf(o, req),
      method: method as ApiRequest['method'],
      path: p,
      body,
      ...(upload
        ? { io: { stdin: req, stdout: new PassThrough().resume(), stderr: new PassThrough().resume() } }
        : {}),
    };
    const out = await o.router.handle(r);
    sendJson(res, 200, out ?? {});
  } catch (e) {
    const b = errorBody(e);
    sendJson(res, statusOf(b.code), b);
  }
}

/**
 * Listen on `socket` (its directory made 0700 if missing; a stale socket file with no server
 * behind it is replaced, a live one is an error, not stolen), or on TCP with mutual TLS.
 */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  if (!o.socket === !o.tcp) throw new Error('startApiServer: give a socket or tcp, not both');
  if (o.socket) await prepareSocket(o.socket);
  const docker = dockerApi(o);
  // The last line of defence, not the first: every stream of an exchange has its own error
  // listener (below). An error that escapes anyway (a bug) is reported, and the service goes on
  // answering its other clients instead of ending with them.
  const escaped = (e: unknown) => {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`moat: internal error in the API service (it keeps serving): ${text}\n`);
    o.log?.('api error escaped its exchange', { error: text });
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // No error of one exchange may reach the process: every stream of it has a listener
    // (a client that goes away, a write after the end), and the handler's failures end only
    // this response.
    const onError = (e: Error) => o.log?.('api stream error', { path: req.url, error: e.message });
    req.on('error', onError);
    res.on('error', onError);
    let done: Promise<void>;
    try {
      const url = new URL(req.url ?? '/', 'http://moat');
      o.log?.('api request', { method: req.method, path: url.pathname });
      const p = url.pathname;
      done = p.startsWith('/v1/')
        ? native(o, req, res, p.slice(3), url.searchParams)
        : docker.request(req, res, url);
    } catch (e) {
      done = Promise.reject(e);
    }
    done.catch((e: unknown) => {
      try {
        if (!res.headersSent) sendJson(res, 500, errorBody(e));
        else res.destroy();
      } catch {
        res.destroy();
      }
    });
  };
  const server: Server = o.tcp
    ? createTlsServer(
        {
          cert: o.tcp.cert,
          key: o.tcp.key,
          ca: o.tcp.ca,
          // Mutual TLS: a connection without a client certificate from this CA never gets a request in.
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          // docker closes its sending side (a TLS close_notify) once it has no stdin to send;
          // an attached container's output must still reach it.
          allowHalfOpen: true,
        },
        handler,
      )
    : createServer(handler);
  // Sockets: Node's own listener answers a client's protocol error (clientError); this one is
  // there so that no socket error is ever unheard, whatever Node's default becomes.
  server.on(o.tcp ? 'secureConnection' : 'connection', (s: Duplex) => s.on('error', () => {}));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    docker.upgrade(req, socket).catch(() => socket.destroy());
  });
  // Containers' logs may be followed for hours: no idle timeout on requests.
  server.requestTimeout = 0;
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const ready = () => {
        server.off('error', reject);
        resolve();
      };
      if (o.tcp) server.listen(o.tcp.port, o.tcp.host, ready);
      else server.listen(o.socket, ready);
    });
  } finally {
    process.umask(old);
  }
  if (o.socket) chmodSync(o.socket, 0o600);
  // A listening server's own errors (e.g. accept failing for want of descriptors) are reported.
  server.on('error', escaped);
  process.on('uncaughtException', escaped);
  process.on('unhandledRejection', escaped);
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        process.off('uncaughtException', escaped);
        process.off('unhandledRejection', escaped);
        server.close(() => resolve());
        server.closeAllConnections();
        if (o.socket) rmSync(o.socket, { force: true });
      }),
  };
}

async function prepareSocket(socket: string): Promise<void> {
  mkdirSync(path.dirname(socket), { recursive: true, mode: 0o700 });
  try {
    if (statSync(socket).isSocket()) {
      if (await alive(socket))
        throw new ApiError('API_SOCKET_IN_USE', `${socket}: another server is listening there`, {
          hint: 'stop it, or pass another --socket',
        });
      rmSync(socket);
    }
  } catch (e) {
    if (isMoatError(e)) throw e;
  }
}

function alive(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
