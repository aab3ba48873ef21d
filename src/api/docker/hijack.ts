/**
 * A connection upgraded to Docker's raw stream (attach, exec start) as the streams of a request
 * on the router, as the docker CLI uses it (its hijack.go):
 *
 * - output: with a terminal (Tty) the bytes as they are, one stream; without, stdout and stderr
 *   as Docker's multiplexed frames (stream.ts);
 * - the request's own body (exec start sends one) is read off the connection first
 *   (upgradeBody): what follows it is the stream;
 * - stdin: the connection's bytes, until the client closes its sending side (CloseWrite), which
 *   is the end of stdin. Held (with backpressure) until a process takes it: what the client sent
 *   early waits;
 * - detaching: docker's detach keys are the CLI's own, which then closes the connection. With a
 *   terminal and stdin, a client's end of input is also its leaving (a terminal sends no end of
 *   input: docker closes its sending side only when it goes), so the container or exec runs on.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { ApiError } from '../errors.js';
import { DockerConsole } from './console.js';
import { framer, rawWriter, settled, sink } from './stream.js';

export interface HijackOptions {
  tty: boolean;
  /** The client's bytes are the process's stdin. */
  stdin: boolean;
  /** Which output streams the client asked for (Docker's `stdout`/`stderr` query flags). */
  stdout?: boolean;
  stderr?: boolean;
  /** The terminal exists already (an attach to a running container): resizes apply at once. */
  live?: boolean;
}

export interface Hijacked {
  io: { stdin?: Readable; stdout: Writable; stderr: Writable };
  console: DockerConsole;
  /** A message for the client after the upgrade, on the error stream. */
  tell: (msg: string) => void;
  /** Ends the output once its last bytes went out, then the connection. */
  finish: () => Promise<void>;
}

export function hijacked(socket: Duplex, o: HijackOptions): Hijacked {
  const out = (wanted: boolean | undefined, n: 1 | 2) =>
    wanted === false ? sink() : o.tty ? rawWriter(socket) : framer(socket, n);
  const stdout = out(o.stdout, 1);
  const stderr = out(o.stderr, 2);
  const console = new DockerConsole(o.live);
  socket.once('close', () => console.detach());
  if (o.tty && o.stdin) socket.once('end', () => console.detach());
  const stdin = o.stdin ? new PassThrough() : undefined;
  stdin?.on('error', () => {});
  // Nothing to read: read it anyway, so that the client's leaving is heard.
  if (stdin) socket.pipe(stdin);
  else socket.resume();
  return {
    io: { ...(stdin ? { stdin } : {}), stdout, stderr },
    console,
    tell: (msg) => {
      if (!stderr.writableEnded) stderr.write(Buffer.from(`moat: ${msg}${o.tty ? '\r\n' : '\n'}`));
    },
    finish: async () => {
      stdout.end();
      stderr.end();
      await Promise.all([settled(stdout), settled(stderr)]);
      socket.end();
    },
  };
}

/** The most a request on an upgraded connection may carry as its body (exec start's is tiny). */
const MAX_BODY = 64 * 1024;

/**
 * Reads the request's body (its Content-Length) off a connection that asked for an upgrade,
 * leaving what follows in the stream; resolves with the body.
 */
export function upgradeBody(req: IncomingMessage, socket: Duplex): Promise<Buffer> {
  const raw = req.headers['content-length'];
  const len = raw === undefined ? 0 : Number(raw);
  if (!Number.isSafeInteger(len) || len < 0 || len > MAX_BODY)
    return Promise.reject(
      new ApiError('API_INVALID_REQUEST', `the body of an upgraded request is at most ${MAX_BODY} bytes`),
    );
  if (!len) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const done = (e?: Error) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (e) reject(e);
      else resolve(Buffer.concat(parts));
    };
    const onData = (b: Buffer) => {
      const want = len - got;
      parts.push(b.subarray(0, want));
      got += Math.min(b.length, want);
      if (got < len) return;
      // Paused first: what follows the body goes back in front of the stream, not to onData.
      done();
      if (b.length > want) socket.unshift(b.subarray(want));
    };
    const onEnd = () =>
      done(new ApiError('API_INVALID_REQUEST', 'the connection ended within the request body'));
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}
