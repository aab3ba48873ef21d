/**
 * Attaching to a running container (`moat attach`, the API): a connection to its monitor's attach
 * socket (server.ts), speaking frames.ts. Output is written to the client's streams with their
 * backpressure (the monitor disconnects a client that falls far behind), stdin and window sizes go
 * the other way, and the client's detach keys end the connection with the container running.
 */
import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { ConsoleClient } from '../tty.js';
import { FRAME, FrameDecoder, frame, frames, jsonPayload } from './frames.js';

export interface AttachIo {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  console?: ConsoleClient;
}

/** How an attachment ended: the container's status, the client detaching, or the monitor gone. */
export type AttachEnd = { exitCode: number } | { detached: true } | { lost: true };

/** Connects, or rejects with the socket error (ENOENT, ECONNREFUSED: nothing listens). */
function open(file: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(file);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export async function attachSocket(file: string, io: AttachIo): Promise<AttachEnd> {
  const s = await open(file);
  s.on('error', () => {});
  s.write(
    frame(
      FRAME.HELLO,
      JSON.stringify({
        stdin: Boolean(io.stdin),
        ...(io.console?.size ? { size: [io.console.size.rows, io.console.size.cols] } : {}),
      }),
    ),
  );
  let exitCode: number | undefined;
  const write = (to: Writable, b: Buffer) => {
    if (to.destroyed || to.writableEnded) return;
    if (!to.write(Buffer.from(b))) {
      s.pause();
      to.once('drain', () => s.resume());
    }
  };
  const decoder = new FrameDecoder((type, payload) => {
    if (type === FRAME.STDOUT) write(io.stdout, payload);
    else if (type === FRAME.STDERR) write(io.stderr, payload);
    else if (type === FRAME.EXIT) {
      const v = jsonPayload(payload) as { exitCode?: unknown } | undefined;
      if (typeof v?.exitCode === 'number') exitCode = v.exitCode;
    }
  });
  s.on('data', (b: Buffer) => {
    try {
      decoder.push(b);
    } catch {
      s.destroy();
    }
  });
  const onInput = (b: Buffer) => {
    for (const f of frames(FRAME.STDIN, b)) s.write(f);
  };
  const onInputEnd = () => s.write(frame(FRAME.STDIN_END));
  io.stdin?.on('data', onInput);
  io.stdin?.once('end', onInputEnd);
  const stopResizes = io.console?.onResize?.((size) =>
    s.write(frame(FRAME.RESIZE, JSON.stringify([size.rows, size.cols]))),
  );
  let detached = false;
  void io.console?.detached?.then(() => {
    detached = true;
    s.destroy();
  });
  try {
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
  } finally {
    io.stdin?.off('data', onInput);
    io.stdin?.off('end', onInputEnd);
    stopResizes?.();
  }
  if (detached) return { detached: true };
  return exitCode !== undefined ? { exitCode } : { lost: true };
}
