/**
 * Writing Docker's multiplexed stream (8-byte header: stream 1 or 2, three zero bytes, the
 * length; then the bytes), or a terminal's unframed output, to a response or an upgraded socket,
 * without ever letting the destination's state become an error of the service:
 *
 * - a frame is written only while the destination is open; after it ended, was destroyed or
 *   closed (the client went away), frames are dropped and the framer destroys itself, so the
 *   writer behind it (the log reader) sees that nobody listens and stops;
 * - backpressure is the destination's: the next frame waits for 'drain' (or 'close', which
 *   never leaves a write waiting forever: a response whose socket is gone never drains);
 * - `finish()` resolves once every queued frame was handed to the destination, so a response
 *   is ended only after its last frame (ending it earlier was issue 9's crash:
 *   ERR_STREAM_WRITE_AFTER_END as an unhandled 'error' event).
 *
 * Every stream made here carries an 'error' listener.
 */
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

/** What frames are written to: a response or a socket. */
export type Destination = Writable | ServerResponse;

/** Frames of at most this many bytes (a log line is at most 16 KiB; attach output is chunked). */
const MAX_FRAME = 1 << 20;

/** A Writable that discards everything (a stream nobody asked for). */
export function sink(): Writable {
  const w = new Writable({ write: (_c, _e, cb) => cb() });
  w.on('error', () => {});
  return w;
}

/** Has the destination gone: ended, destroyed or closed? */
export function gone(out: Destination, closed = false): boolean {
  return closed || out.destroyed || out.writableEnded;
}

/**
 * A Writable that frames what it gets as stream `n` and writes it to `out`; `before` runs
 * ahead of each frame that is written (e.g. to send the response's headers with the first one).
 */
export function framer(out: Destination, n: 1 | 2, before: () => void = () => {}): Writable {
  return forwarder(out, before, (chunk) => {
    const parts: Buffer[] = [];
    for (let at = 0; at < chunk.length; at += MAX_FRAME) {
      const part = chunk.subarray(at, at + MAX_FRAME);
      const head = Buffer.alloc(8);
      head[0] = n;
      head.writeUInt32BE(part.length, 4);
      parts.push(Buffer.concat([head, part]));
    }
    return parts;
  });
}

/**
 * A Writable that writes what it gets to `out` unframed, as the framer writes frames: Docker's
 * raw stream of a container or exec with a terminal (Tty), whose output is one stream.
 */
export function rawWriter(out: Destination): Writable {
  return forwarder(
    out,
    () => {},
    (chunk) => [chunk],
  );
}

function forwarder(out: Destination, before: () => void, encode: (chunk: Buffer) => Buffer[]): Writable {
  let closed = gone(out);
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (gone(out, closed)) return cb();
      before();
      let ok = true;
      for (const b of encode(chunk)) ok = out.write(b);
      if (ok) cb();
      else void drained(out).then(() => cb());
    },
  });
  w.on('error', () => {});
  const onClose = () => {
    closed = true;
    w.destroy();
  };
  if (closed) w.destroy();
  else out.once('close', onClose);
  // Once the framer itself is done, it no longer needs to hear of the destination.
  w.once('close', () => out.off('close', onClose));
  return w;
}

/** Resolves when `out` takes more writes again ('drain'), or will take none ('close'). */
export function drained(out: Destination): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/** Resolves when `w` has finished (every write handed on) or was destroyed. */
export function settled(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (w.writableFinished || w.destroyed) return resolve();
    w.once('finish', () => resolve());
    w.once('close', () => resolve());
  });
}

export interface Framed {
  stdout: Writable;
  stderr: Writable;
  /** Has the first frame gone out (and with it, the headers)? */
  started: () => boolean;
  /** End both framers and wait until their frames were handed to the response. */
  finish: () => Promise<void>;
}

/**
 * Framed stdout and stderr for a response whose headers go out with the first frame, so an
 * error before any output can still be an error status.
 */
export function framed(res: ServerResponse, contentType: string): Framed {
  let started = false;
  const start = () => {
    if (started || res.headersSent) return;
    started = true;
    res.writeHead(200, { 'content-type': contentType });
  };
  const stdout = framer(res, 1, start);
  const stderr = framer(res, 2, start);
  return {
    stdout,
    stderr,
    started: () => started,
    finish: async () => {
      stdout.end();
      stderr.end();
      await Promise.all([settled(stdout), settled(stderr)]);
    },
  };
}
