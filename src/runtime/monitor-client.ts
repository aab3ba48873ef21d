/**
 * The starting side of a container's monitor (monitor-main.ts): every start, attached or not,
 * hands the container to a monitor process of its own session, which supervises it to its end,
 * records the exit and honours --rm, whatever happens to the CLI or service that started it.
 *
 * The monitor's descriptors: 0 the container's stdin (attached with -i), 1 messages from the
 * monitor (JSON lines: started / error / exit), 3 requests to it (the container ID, then
 * signals to deliver), 4 and 5 the container's stdout and stderr (attached). A monitor can be
 * spawned ahead (`prewarmMonitor`, before the CLI has planned the container): Node's start-up then
 * overlaps the planning instead of adding to the run. It does nothing until it is given an ID,
 * and exits when its requests pipe closes without one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { TermSize } from './tty.js';

const MONITOR = fileURLToPath(new URL('./monitor-main.js', import.meta.url));
/** Longest message line accepted from a monitor. */
const MAX_LINE = 64 * 1024;

export interface MonitorShape {
  /** Pipes for the container's stdout and stderr. */
  attach: boolean;
  /** A pipe for the container's stdin. */
  stdin: boolean;
}

export interface StartedMessage {
  started?: { pid: number };
  error?: { code: string; message: string; exitCode: number };
}

export interface ExitMessage {
  exitCode: number;
  started: boolean;
  error?: string;
  oomKilled?: boolean;
  /** The monitor removed the container (--rm). */
  removed?: boolean;
}

/** A monitor process and the engine's ends of its pipes. */
export class MonitorHandle {
  readonly child: ChildProcess;
  readonly shape: MonitorShape;
  /** The first of started/error, or undefined if the monitor ended first. */
  readonly started: Promise<StartedMessage | undefined>;
  /** The exit message, or undefined if the monitor ended without one. */
  readonly exited: Promise<ExitMessage | undefined>;

  constructor(shape: MonitorShape) {
    this.shape = shape;
    this.child = spawn(process.execPath, [MONITOR], {
      detached: true,
      stdio: [
        shape.stdin ? 'pipe' : 'ignore',
        'pipe',
        // The monitor writes its own log (monitor.log beside the container's); MOAT_TIMING's
        // marks are the exception: they go where the starter's go.
        process.env.MOAT_TIMING === '1' ? 'inherit' : 'ignore',
        'pipe',
        shape.attach ? 'pipe' : 'ignore',
        shape.attach ? 'pipe' : 'ignore',
      ],
      env: process.env,
    });
    this.child.on('error', () => {});
    for (const s of this.child.stdio) (s as Socket | null)?.on('error', () => {});
    let onStarted: (m: StartedMessage | undefined) => void = () => {};
    let onExit: (m: ExitMessage | undefined) => void = () => {};
    this.started = new Promise((r) => (onStarted = r));
    this.exited = new Promise((r) => (onExit = r));
    let buf = '';
    const out = this.child.stdout!;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: StartedMessage & { exit?: ExitMessage };
        try {
          m = JSON.parse(line) as typeof m;
        } catch {
          continue;
        }
        if (m.started || m.error) onStarted(m);
        if (m.exit) onExit(m.exit);
      }
      if (buf.length > MAX_LINE) out.destroy();
    });
    // 'close' comes after the last 'data': a message sent just before the end is not lost.
    out.on('close', () => {
      onStarted(undefined);
      onExit(undefined);
    });
    this.unref();
  }

  /** The container's output (attached). */
  get stdout(): Readable | undefined {
    return (this.child.stdio as unknown[])[4] as Readable | undefined;
  }

  get stderr(): Readable | undefined {
    return (this.child.stdio as unknown[])[5] as Readable | undefined;
  }

  get stdin(): Writable | undefined {
    return this.child.stdin ?? undefined;
  }

  private send(msg: unknown): void {
    const ctl = this.child.stdio[3] as Writable | null;
    if (ctl && !ctl.destroyed) ctl.write(JSON.stringify(msg) + '\n');
  }

  /** Hand the container to the monitor (with a terminal: the attached client's window size). */
  start(id: string, size?: TermSize): void {
    this.send({
      id,
      attach: this.shape.attach,
      stdin: this.shape.stdin,
      ...(size ? { size: [size.rows, size.cols] } : {}),
    });
  }

  /** The attached client's window changed (a container with a terminal). */
  resize(size: TermSize): void {
    this.send({ size: [size.rows, size.cols] });
  }

  /** Ask the monitor to deliver a signal to the container (or to end a start in progress). */
  signal(sig: NodeJS.Signals): void {
    this.send({ signal: sig });
  }

  /** Keep this process alive while the monitor is being talked to. */
  ref(): void {
    this.child.ref();
    for (const s of this.child.stdio) (s as Socket | null)?.ref?.();
  }

  /** Let this process exit without waiting for the monitor. */
  unref(): void {
    this.child.unref();
    for (const s of this.child.stdio) (s as Socket | null)?.unref?.();
  }

  /** Done talking: the monitor goes on alone (or, never given an ID, exits). */
  release(): void {
    for (const s of this.child.stdio) (s as Socket | null)?.destroy();
    this.child.unref();
  }
}

let spare: MonitorHandle | undefined;

/** Start a monitor now, for the container this process is about to create (see above). */
export function prewarmMonitor(shape: MonitorShape): void {
  if (spare) return;
  try {
    spare = new MonitorHandle(shape);
  } catch {
    spare = undefined; // the real start spawns one and reports what fails
  }
}

/** A monitor of this shape: the prewarmed one if it fits, else a new one. */
export function takeMonitor(shape: MonitorShape): MonitorHandle {
  const m = spare;
  spare = undefined;
  if (m && m.shape.attach === shape.attach && m.shape.stdin === shape.stdin && m.child.exitCode === null)
    return m;
  m?.release();
  return new MonitorHandle(shape);
}
