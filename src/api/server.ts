/**
 * The HTTP API (`moat system service`), on a unix socket or on TCP with mutual TLS. Every request becomes a router request
 * `{ subject, method, path, body }` — the same path the CLI takes in-process, policy check
 * included — so the API adds transport, not behaviour:
 *
 * - `/v1/<route>`: moat's own API, one route per router route (`POST /v1/containers/create`,
 *   `GET /v1/images`, ...), JSON in and out; errors as `{ code, message, hint }`.
 * - everything else: the subset of Docker's Engine API that `docker` needs for ps, images,
 *   pull, create, start, wait, logs, stop, kill, rm, rmi, inspect, info and version
 *   (docker/), translated onto the same routes.
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
import { connect, Socket } from 'node:net';
import * as path from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { isMoatError } from '../errors.js';
import { connectionOf, Connections } from './connections.js';
import { dockerApi } from './docker/index.js';
import { isArchiveUpload } from './docker/containers-archive.js';
import { ApiError } from './errors.js';
import { errorBody, readJson, sendJson, statusOf, subjectOf } from './http.js';
import type { ApiRequest } from './router.js';
import type { ApiServerOptions } from './server-options.js';
import {
  guardUpload,
  limitsWith,
  precheck,
  readBody,
  showDuration,
  type ServiceLimits,
} from './service-limits.js';

export type { ApiServerOptions, TcpListen } from './server-options.js';

export interface ApiServer {
  server: Server;
  close: () => Promise<void>;
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

const TAR = /^application\/(x-tar|octet-stream)\b/;

/** The upload route a request is (`pathname` as sent, `/v1/...`), if it sends an archive as its body. */
function uploadOf(req: IncomingMessage, pathname: string): (typeof UPLOADS)[string] | undefined {
  if (req.method !== 'POST' || !pathname.startsWith('/v1/')) return undefined;
  if (!TAR.test(req.headers['content-type'] ?? '')) return undefined;
  return UPLOADS[pathname.slice(3)];
}

/** moat's own API: `/v1/<route>`, the router's paths and bodies as they are. */
async function native(
  o: ApiServerOptions,
  limits: ServiceLimits,
  req: IncomingMessage,
  res: ServerResponse,
  p: string,
  query: URLSearchParams = new URLSearchParams(),
): Promise<void> {
  let upload: ReturnType<typeof guardUpload> | undefined;
  try {
    const method = req.method ?? 'GET';
    if (!METHODS.has(method)) throw new ApiError('API_NOT_FOUND', `${method} is not allowed on ${p}`);
    const route = uploadOf(req, `/v1${p}`);
    if (route) upload = guardUpload(req, limits, o.storage);
    const body = route ? route(query) : await readJson(req, limits);
    const r: ApiRequest = {
      subject: subjectOf(o, req),
      method: method as ApiRequest['method'],
      path: p,
      body,
      ...(upload
        ? {
            io: {
              stdin: upload.stream,
              stdout: new PassThrough().resume(),
              stderr: new PassThrough().resume(),
            },
          }
        : {}),
    };
    const out = await o.router.handle(r);
    sendJson(res, 200, out ?? {});
  } catch (e) {
    // An upload cut off by its limits is answered with why, not with what the reader made of it;
    // a body left unread ends the connection (closeUnlessComplete).
    const b = errorBody(upload?.failure() ?? e);
    if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
    sendJson(res, statusOf(b.code), b);
  }
}

/**
 * Closing a connection the client may still be sending on: the answer goes, then what still comes
 * is read and dropped for a moment before the socket is closed (closing with unread data makes
 * the client's next write fail, and it may never read the answer), as web servers' lingering close.
 * Node's HTTP layer closes a connection with `destroySoon` after a last response (Connection:
 * close); on the service's sockets that is this.
 */
const LINGER_MS = 2_000;
function lingeringClose(s: Duplex): void {
  if (s.destroyed) return;
  s.end();
  s.resume();
  const t = setTimeout(() => s.destroy(), LINGER_MS);
  t.unref();
  s.once('close', () => clearTimeout(t));
  s.once('end', () => s.destroy());
}

/**
 * After an answer to a request whose body was not read to its end (refused, too large, too
 * slow), the connection closes: Node would read the rest of the body, with no time limit.
 */
function closeUnlessComplete(req: IncomingMessage, res: ServerResponse): void {
  res.once('finish', () => {
    if (req.complete) return;
    req.unpipe();
    req.resume();
    lingeringClose(req.socket);
  });
}

/** An error answered before any route ran, in a shape both clients read (`message` for docker). */
function sendEarly(res: ServerResponse, e: unknown): void {
  const b = errorBody(e);
  if (!res.headersSent) res.setHeader('connection', 'close');
  sendJson(res, statusOf(b.code), b);
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};

/** A whole HTTP response written on a socket no request owns (a protocol error, a refusal). */
function rawAnswer(socket: Duplex, e: ApiError): void {
  const b = errorBody(e);
  const status = statusOf(b.code);
  const text = JSON.stringify(b);
  socket.write(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
  lingeringClose(socket);
}

/** What Node's HTTP parser refused, as moat's error (Node would answer an empty 400). */
function protocolError(err: Error & { code?: string; reason?: string }, l: ServiceLimits): ApiError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new ApiError(
      'API_REQUEST_TIMEOUT',
      `the request line and headers did not arrive within ${showDuration(l.headersTimeoutMs)}`,
    );
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return new ApiError('API_HEADERS_TOO_LARGE', 'the request line and headers are larger than 16 KiB');
  const reason = err.reason ?? err.message;
  // Two ways of framing one body are how requests are smuggled past proxies (RFC 9112 §6.3).
  if (/Transfer-Encoding/i.test(reason) && /^HPE_\w*(CONTENT_LENGTH|TRANSFER_ENCODING)$/.test(err.code ?? ''))
    return new ApiError(
      'API_INVALID_REQUEST',
      'a request may have Content-Length or Transfer-Encoding: chunked, not both (and chunked must be its last transfer coding)',
      { hint: 'send the body with one of them (curl: do not add -H "Transfer-Encoding: chunked" to -d)' },
    );
  return new ApiError(
    'API_INVALID_REQUEST',
    `malformed HTTP request: ${reason}${err.code ? ` (${err.code})` : ''}`,
  );
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
  const limits = limitsWith(o.limits);
  const conns = new Connections(limits.maxConnections);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // No error of one exchange may reach the process: every stream of it has a listener
    // (a client that goes away, a write after the end), and the handler's failures end only
    // this response.
    const onError = (e: Error) => o.log?.('api stream error', { path: req.url, error: e.message });
    req.on('error', onError);
    res.on('error', onError);
    const conn = connectionOf(req.socket);
    conns.begin(conn);
    res.once('close', () => conns.end(conn));
    closeUnlessComplete(req, res);
    const dispatch = async (): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://moat');
      o.log?.('api request', { method: req.method, path: url.pathname });
      const p = url.pathname;
      if (p.startsWith('/v1/')) return native(o, limits, req, res, p.slice(3), url.searchParams);
      // Docker's routes read their (JSON) bodies from what is read here, within the limits. An
      // archive (docker load, import, build) goes to no route: it is answered unread; docker cp's
      // (sent without a content type) is read by its route, within the upload limits.
      if (!TAR.test(req.headers['content-type'] ?? '') && !isArchiveUpload(req.method, p)) {
        try {
          await readBody(req, limits);
        } catch (e) {
          sendEarly(res, e);
          return;
        }
      }
      return docker.request(req, res, url);
    };
    let done: Promise<void>;
    try {
      done = dispatch();
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
  const httpOptions = {
    // How often Node looks for connections whose headers are late (its default is 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
  const server: Server = o.tcp
    ? createTlsServer(
        {
          ...httpOptions,
          handshakeTimeout: limits.handshakeTimeoutMs,
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
    : createServer(httpOptions, handler);
  // No socket error is ever unheard, whatever Node's default becomes; a last response closes
  // the connection with a lingering close.
  const prepare = (s: Socket) => {
    s.on('error', () => {});
    s.destroySoon = () => lingeringClose(s);
  };
  if (o.tcp) server.on('secureConnection', prepare);
  // The cap: a connection beyond it displaces the one idle longest, or is refused when all are busy.
  server.on('connection', (s: Socket) => {
    prepare(s);
    const a = conns.admit(s);
    if (a.admitted) {
      if (a.evicted) o.log?.('api connection closed to make room', { open: conns.size });
      return;
    }
    o.log?.('api connection refused: every connection is busy', { open: conns.size });
    const busy = new ApiError(
      'API_BUSY',
      `the service has ${limits.maxConnections} connections, each busy with a request`,
    );
    // A TLS client cannot read plain HTTP: it is only closed.
    if (o.tcp) s.destroy();
    else rawAnswer(s, busy);
  });
  // What Node's parser refuses (and a request whose headers are late) is answered in moat's
  // shape; a connection in the middle of a response only closes.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable || conns.isBusy(connectionOf(socket))) {
      socket.destroy();
      return;
    }
    rawAnswer(socket, protocolError(err, limits));
  });
  // A body announced larger than its route takes is refused before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    try {
      const { pathname } = new URL(req.url ?? '/', 'http://moat');
      precheck(req, uploadOf(req, pathname) !== undefined || isArchiveUpload(req.method, pathname), limits);
    } catch (e) {
      req.on('error', () => {});
      closeUnlessComplete(req, res);
      sendEarly(res, e);
      return;
    }
    res.writeContinue();
    handler(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    // What the client sent after the headers in the same packets (the request's body, stdin):
    // back in front of the stream, which the handler reads as it arrives.
    if (head.length) socket.unshift(head);
    // A raw stream from now on: no timeout of Node's applies to it, and it is not idle.
    if (socket instanceof Socket) socket.setTimeout(0);
    conns.upgrade(connectionOf(socket));
    docker.upgrade(req, socket).catch(() => socket.destroy());
  });
  /*
   * Time limits (service-limits.ts). Node's requestTimeout bounds the whole request, body
   * included, for every route alike: it would cut off a long upload, so it is off and the body
   * phase is bounded per route (readBody, guardUpload). Once a request has arrived nothing times
   * out: a followed log or an attached container may be quiet for hours. Node's own checks run
   * every connectionsCheckingInterval.
   */
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.timeout = 0;
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
