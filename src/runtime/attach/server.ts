/**
 * The monitor's side of attaching: one place the container's output fans out from (the client that
 * started it, if any, and every client attached since through the attach socket), and its stdin
 * comes in from (when the container keeps stdin open, -i).
 *
 * The socket is socket-path.ts's, in the user's own runtime directory: only the user can connect. A client attached later never
 * slows the container: past MAX_BACKLOG bytes queued for it, it is disconnected (the client that
 * started the container keeps docker's behaviour: a slow reader slows the container).
 */
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Attach } from '../supervise.js';
import { resizeTerminal, termSize, type TermSize } from '../tty.js';
import { FRAME, FrameDecoder, frame, frames, jsonPayload } from './frames.js';

const MAX_BACKLOG = 4 * 1024 * 1024;
const MAX_CLIENTS = 16;

export interface AttachServerOptions {
  socket?: string;
  /** The container keeps stdin open (-i): clients may write to it. */
  interactive: boolean;
  /** The container has a terminal: resizes go to its FIFO, and one client's stdin EOF ends nothing. */
  tty: boolean;
  ttyCtl: string;
  /** The client that started the container, if it was started attached. */
  initial?: Attach;
  log?: (msg: string) => void;
}

/** A writable that passes each chunk to the initial client (with its backpressure) and to the others. */
class FanOut extends Writable {
  constructor(
    private readonly first: Writable | undefined,
    private readonly type: number,
    private readonly clients: Set<Socket>,
  ) {
    super();
    first?.on('error', () => {});
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    for (const c of this.clients) {
      if (c.destroyed) continue;
      if (c.writableLength > MAX_BACKLOG) {
        c.destroy();
        continue;
      }
      for (const f of frames(this.type, chunk)) c.write(f);
    }
    const first = this.first;
    if (!first || first.destroyed || first.writableEnded) return cb();
    if (first.write(chunk)) return cb();
    const go = () => {
      first.off('drain', go);
      first.off('close', go);
      cb();
    };
    first.on('drain', go);
    first.on('close', go);
  }

  override _final(cb: (e?: Error | null) => void): void {
    const first = this.first;
    if (!first || first.destroyed || first.writableEnded) return cb();
    first.once('close', () => cb());
    first.once('finish', () => cb());
    first.end();
  }
}

export class AttachServer {
  private readonly clients = new Set<Socket>();
  private server?: Server;
  /** What supervise() is given: output fans out, stdin comes from every client. */
  readonly attach: Attach;

  constructor(private readonly o: AttachServerOptions) {
    const stdin = o.interactive ? new PassThrough() : undefined;
    if (stdin && o.initial?.stdin) {
      // docker's StdinOnce for the client that started it: its EOF is the container's, without a
      // terminal; with one, the terminal stays open for the next client.
      o.initial.stdin.on('error', () => {});
      o.initial.stdin.pipe(stdin, { end: !o.tty });
    }
    this.attach = {
      stdout: new FanOut(o.initial?.stdout, FRAME.STDOUT, this.clients),
      stderr: new FanOut(o.initial?.stderr, FRAME.STDERR, this.clients),
      ...(stdin ? { stdin } : {}),
      ...(o.initial?.console ? { console: o.initial.console } : {}),
    };
  }

  /** Starts listening (a failure is logged: the container runs without later attaching). */
  listen(): void {
    const file = this.o.socket;
    if (!file) return;
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // The directory is the gate (0700, whatever an earlier run or the umask left); the socket
      // itself is made 0600 once it exists (listen obeys the umask: 0777 under umask 0).
      chmodSync(path.dirname(file), 0o700);
      unlinkSync(file);
    } catch {
      /* no stale socket */
    }
    const server = createServer((c) => this.accept(c));
    server.on('error', (e) => this.o.log?.(`attach socket: ${e.message}`));
    server.maxConnections = MAX_CLIENTS;
    server.listen(file, () => {
      try {
        chmodSync(file, 0o600);
      } catch (e) {
        this.o.log?.(`attach socket: ${(e as Error).message}`);
      }
    });
    server.unref();
    this.server = server;
  }

  private accept(c: Socket): void {
    c.on('error', () => {});
    let hello = false;
    let stdinOpen = false;
    const stdin = this.attach.stdin as PassThrough | undefined;
    const decoder = new FrameDecoder((type, payload) => {
      if (!hello) {
        if (type !== FRAME.HELLO) return void c.destroy();
        hello = true;
        const h = jsonPayload(payload) as { stdin?: unknown; size?: unknown } | undefined;
        stdinOpen = Boolean(h?.stdin) && stdin !== undefined && !stdin.writableEnded;
        this.clients.add(c);
        this.resize(h?.size);
        return;
      }
      if (type === FRAME.STDIN && stdinOpen && stdin && !stdin.writableEnded)
        stdin.write(Buffer.from(payload));
      else if (type === FRAME.RESIZE) this.resize(jsonPayload(payload));
      else if (type === FRAME.STDIN_END && stdinOpen) {
        stdinOpen = false;
        if (!this.o.tty) stdin?.end();
      }
    });
    c.on('data', (b: Buffer) => {
      try {
        decoder.push(b);
      } catch {
        c.destroy();
      }
    });
    c.on('close', () => this.clients.delete(c));
  }

  private resize(size: unknown): void {
    if (!this.o.tty || !Array.isArray(size)) return;
    const s: TermSize | undefined = termSize(size[0], size[1]);
    if (s) resizeTerminal(this.o.ttyCtl, s);
  }

  /** The container has ended: clients get its status, the socket goes, the output ends. */
  async finish(exitCode: number): Promise<void> {
    this.server?.close();
    if (this.o.socket) {
      try {
        unlinkSync(this.o.socket);
      } catch {
        /* gone */
      }
    }
    const done = [...this.clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('close', () => resolve());
          c.end(frame(FRAME.EXIT, JSON.stringify({ exitCode })));
          setTimeout(() => {
            c.destroy();
            resolve();
          }, 5000).unref();
        }),
    );
    const ended = (w: Writable) =>
      new Promise<void>((resolve) => {
        if (w.destroyed || w.writableFinished) return resolve();
        w.once('finish', () => resolve());
        w.once('close', () => resolve());
        w.once('error', () => resolve());
        w.end();
      });
    await Promise.all([...done, ended(this.attach.stdout), ended(this.attach.stderr)]);
  }
}
