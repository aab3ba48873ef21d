/**
 * What one client may cost the API service: how long each phase of a request may take, how large
 * its body may be, how many connections a listener keeps. Every request is bounded in time until
 * its body has arrived; after that nothing is: a followed log or an attached container streams for
 * as long as it runs, and the service never closes a connection for quiet output.
 *
 *   - the request line and headers: `headersTimeoutMs` from the connection's first byte (or from
 *     its opening: a connection that sends nothing is closed after it too). Node enforces it.
 *   - a JSON body: `bodyTimeoutMs` from the end of the headers, at most `maxJsonBytes`.
 *   - an upload (an image archive as the body of /v1/images/load or import): no deadline, since it
 *     may take hours over a slow link, but never a pause of more than `uploadIdleMs` while the
 *     service waits for it, at most `maxUploadBytes`, and never below `minFreeBytes` free on the
 *     store's filesystem.
 *   - between requests: `keepAliveTimeoutMs`; a TLS handshake: `handshakeTimeoutMs`.
 *   - `policy eval` asked of the service: `policyEvalMs` of evaluation, files of at most
 *     `policyFileBytes` (regular files only).
 *   - connections: `maxConnections` per listener; a new one beyond it takes the place of the
 *     connection idle longest (one with no request under way: a slow sender's headers, a kept-alive
 *     connection), so slow clients cannot fill the service; only when every connection is busy
 *     with a request is the new one refused (503 on the unix socket, closed on TLS).
 */
import { promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { ApiError } from './errors.js';

export interface ServiceLimits {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  uploadIdleMs: number;
  keepAliveTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxConnections: number;
  maxJsonBytes: number;
  maxUploadBytes: number;
  minFreeBytes: number;
  /** `policy eval` for a client of the service: wall-clock bound of the evaluation... */
  policyEvalMs: number;
  /** ...and the largest policy, data or input file it reads (regular files only). */
  policyFileBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The defaults, in one place (README: "Service limits"). */
export const DEFAULTS: Readonly<ServiceLimits> = Object.freeze({
  // A client on this host or a LAN sends its headers in milliseconds; 10 s allows a slow link.
  headersTimeoutMs: 10_000,
  // JSON bodies are at most a MiB; 30 s is still 35 kB/s.
  bodyTimeoutMs: 30_000,
  uploadIdleMs: 60_000,
  // Node's own default; docker's client reuses a connection within it.
  keepAliveTimeoutMs: 5_000,
  // Node's default is 120 s, which lets unauthenticated peers hold connections for long.
  handshakeTimeoutMs: 10_000,
  maxConnections: 512,
  maxJsonBytes: MiB,
  // Larger than any image a laptop loads; large model images are tens of GiB.
  maxUploadBytes: 64 * GiB,
  minFreeBytes: 512 * MiB,
  // The service answers everyone from one thread: an evaluation a client asks for may hold it
  // this long (decisions have their own, smaller bounds: src/policy/limits.ts).
  policyEvalMs: 2_000,
  policyFileBytes: 64 * MiB,
});

/** How often the free space is read during an upload. */
const STATFS_EVERY = 64 * MiB;

export function limitsWith(over: Partial<ServiceLimits> = {}): ServiceLimits {
  const l = { ...DEFAULTS };
  for (const [k, v] of Object.entries(over) as [keyof ServiceLimits, number | undefined][])
    if (v !== undefined) l[k] = v;
  if (l.headersTimeoutMs <= 0) throw new Error('the headers timeout must be positive');
  return l;
}

/** `10s`, `500ms`, `2m`, `1h`, or seconds (`30`). */
export function parseDuration(s: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  const ms = m ? Number(m[1]) * (unit[m[2] ?? 's'] ?? NaN) : NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > 2 ** 31 - 1)
    throw new RangeError(`invalid duration "${s}": use 500ms, 10s, 2m or 1h`);
  return Math.round(ms);
}

export function showDuration(ms: number): string {
  return ms % 1000 ? `${ms} ms` : `${ms / 1000} s`;
}

export function showBytes(n: number): string {
  for (const [u, f] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', 1024],
  ] as const)
    if (n >= f && n % f === 0) return `${n / f} ${u}`;
  return `${n} bytes`;
}

/** The length a request announces (content-length), or undefined (chunked, or none). */
function declared(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function bodyTooLarge(what: string, max: number, flag: string): ApiError {
  return new ApiError(
    'API_BODY_TOO_LARGE',
    `${what} is larger than the service accepts (${showBytes(max)})`,
    {
      details: { limit: max },
      hint: flag,
    },
  );
}

const JSON_HINT = 'JSON request bodies are small documents: name files, do not embed them';
const UPLOAD_HINT =
  'load it on the service host with the moat CLI, or start the service with a larger --max-upload';

/** Refuse, from its headers alone, a request whose announced body is over its limit. */
export function precheck(req: IncomingMessage, upload: boolean, l: ServiceLimits): void {
  const n = declared(req);
  if (n === undefined) return;
  if (upload && n > l.maxUploadBytes) throw bodyTooLarge('the archive', l.maxUploadBytes, UPLOAD_HINT);
  if (!upload && n > l.maxJsonBytes) throw bodyTooLarge('the request body', l.maxJsonBytes, JSON_HINT);
}

const bodies = new WeakMap<IncomingMessage, Promise<Buffer>>();

/**
 * The whole body of a request that is not an upload, read once (later calls get the same bytes):
 * at most `maxJsonBytes`, within `bodyTimeoutMs` of the headers.
 */
export function readBody(req: IncomingMessage, l: ServiceLimits = DEFAULTS): Promise<Buffer> {
  let p = bodies.get(req);
  if (!p) {
    p = receive(req, l);
    bodies.set(req, p);
  }
  return p;
}

function receive(req: IncomingMessage, l: ServiceLimits): Promise<Buffer> {
  try {
    precheck(req, false, l);
  } catch (e) {
    return Promise.reject(e);
  }
  if (req.complete && req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const done = (e?: unknown) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', done);
      req.off('close', onClose);
      if (e === undefined) return resolve(Buffer.concat(parts));
      req.pause();
      reject(e);
    };
    const timer = setTimeout(
      () =>
        done(
          new ApiError(
            'API_REQUEST_TIMEOUT',
            `the request body did not arrive within ${showDuration(l.bodyTimeoutMs)} of its headers`,
          ),
        ),
      l.bodyTimeoutMs,
    );
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > l.maxJsonBytes) return done(bodyTooLarge('the request body', l.maxJsonBytes, JSON_HINT));
      parts.push(c);
    };
    const onEnd = () => done();
    const onClose = () =>
      done(new ApiError('API_INVALID_REQUEST', 'the client went away before its body ended'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', done);
    req.once('close', onClose);
  });
}

export interface Upload {
  /** The body as the route reads it (the request's stdin). */
  stream: Readable;
  /** Why the upload was cut off, if it was: this, not what the reader made of it, is the answer. */
  failure(): ApiError | undefined;
}

/**
 * An archive sent as the body: counted against `maxUploadBytes` and the store's free space, and
 * cut off when the client pauses for `uploadIdleMs` while the service waits for it (a pause the
 * service causes, reading slowly or not yet, is not the client's).
 */
export function guardUpload(req: IncomingMessage, l: ServiceLimits, storage?: string): Upload {
  precheck(req, true, l);
  let failure: ApiError | undefined;
  let received = 0;
  let checked = 0;
  const declaredSize = declared(req) ?? 0;
  const free = async (): Promise<number | undefined> => {
    if (!storage) return undefined;
    const s = await fsp.statfs(storage).catch(() => undefined);
    return s ? s.bavail * s.bsize : undefined;
  };
  const stream = new Transform({
    transform(chunk: Buffer, _e, cb) {
      received += chunk.length;
      if (received > l.maxUploadBytes)
        return cb(fail(bodyTooLarge('the archive', l.maxUploadBytes, UPLOAD_HINT)));
      if (received - checked < STATFS_EVERY && checked > 0) return cb(null, chunk);
      checked = received;
      // What is still to come counts too, when the client said how much.
      const coming = Math.max(declaredSize - received, 0) + chunk.length;
      free().then(
        (avail) => {
          if (avail !== undefined && avail - coming < l.minFreeBytes)
            return cb(
              fail(
                new ApiError(
                  'API_INSUFFICIENT_STORAGE',
                  `the store's filesystem has ${showBytes(avail)} free: the archive would leave less than ${showBytes(l.minFreeBytes)}`,
                  { details: { free: avail, reserve: l.minFreeBytes } },
                ),
              ),
            );
          cb(null, chunk);
        },
        () => cb(null, chunk),
      );
    },
  });
  const fail = (e: ApiError): ApiError => {
    failure ??= e;
    clearTimeout(idle);
    req.unpipe(stream);
    req.pause();
    return e;
  };
  // Waiting on the client: the request flows into the guard and the guard holds nothing back.
  const waiting = () => req.readableFlowing === true && stream.writableLength === 0;
  let idle: NodeJS.Timeout;
  const arm = () => {
    clearTimeout(idle);
    if (stream.destroyed || failure) return;
    idle = setTimeout(() => {
      if (req.complete || failure) return;
      if (!waiting()) return arm();
      stream.destroy(
        fail(
          new ApiError(
            'API_REQUEST_TIMEOUT',
            `the archive stopped arriving: nothing for ${showDuration(l.uploadIdleMs)} (${received} bytes received)`,
          ),
        ),
      );
    }, l.uploadIdleMs);
  };
  req.on('data', arm);
  req.once('end', () => clearTimeout(idle));
  req.once('close', () => {
    clearTimeout(idle);
    if (!req.complete && !failure) stream.destroy(new Error('the client went away before the archive ended'));
  });
  req.once('error', (e) => stream.destroy(e));
  stream.once('close', () => clearTimeout(idle));
  arm();
  req.pipe(stream);
  return { stream, failure: () => failure };
}
