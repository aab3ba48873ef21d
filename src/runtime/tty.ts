/**
 * Terminals (-t). runc hands a container's pseudo-terminal master over a unix socket, as a file
 * descriptor (SCM_RIGHTS), and only when it detaches; Node cannot receive one. moat-tty
 * (native/moat-tty.c, built into dist/native by `npm run build`) receives it and stays as the
 * console's proxy and the process's reaper: its stdin goes to the terminal, the terminal to its
 * stdout, window sizes come as "ROWS COLS" lines on a FIFO, and its exit status is the process's.
 * So a container with a terminal is supervised like one without: the launcher runs moat-tty in
 * place of runc, and the monitor sees one output stream and an exit status.
 *
 * Why not the alternatives: conmon (podman's monitor) would replace moat's monitor wholesale and
 * speaks its own attach protocol; a pty allocated on moat's side (node-pty) cannot become the
 * controlling terminal of a process runc starts in new namespaces, so job control and Ctrl-C
 * would not work. See the README ("Interactive containers").
 */
import { accessSync, constants, closeSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from './errors.js';

/** The word moat-tty replaces with its console socket's path in runc's arguments. */
export const CONSOLE_SOCKET = '@CONSOLE@';

export interface TermSize {
  rows: number;
  cols: number;
}

/** An attached client's terminal: its window, its resizes, and its detaching (Ctrl-P Ctrl-Q). */
export interface ConsoleClient {
  /** The window when the client attached. */
  size?: TermSize;
  /** Calls `fn` with each new size until the returned function is called. */
  onResize?: (fn: (s: TermSize) => void) => () => void;
  /** Resolves when the client detaches: the container runs on, and can be attached again. */
  detached?: Promise<void>;
}

/** What the launcher needs to run a process with a terminal. */
export interface TtyLaunch {
  /** moat-tty's path. */
  helper: string;
  /** The FIFO moat-tty makes and reads window sizes from. */
  ctl: string;
  /** The size to start with (the attached client's window). */
  size?: TermSize;
}

const HELPER = fileURLToPath(new URL('../native/moat-tty', import.meta.url));

/** moat-tty's path, or RUNTIME_TTY_UNAVAILABLE when it was not built. */
export function ttyHelper(): string {
  try {
    accessSync(HELPER, constants.X_OK);
  } catch {
    throw new RuntimeError(
      'RUNTIME_TTY_UNAVAILABLE',
      `a terminal (-t) needs moat's console helper ${HELPER}, which is not there`,
    );
  }
  return HELPER;
}

/** A window size a terminal can have (as moat-tty accepts it), or undefined. */
export function termSize(rows: unknown, cols: unknown): TermSize | undefined {
  const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 10000;
  return ok(rows) && ok(cols) ? { rows, cols } : undefined;
}

/** moat-tty's arguments before runc's argv. */
export function ttyHelperArgs(t: TtyLaunch, pidFile: string): string[] {
  return [
    '--pid-file',
    pidFile,
    '--ctl',
    t.ctl,
    ...(t.size ? ['--size', `${t.size.rows}x${t.size.cols}`] : []),
    '--',
  ];
}

/**
 * Tells a running moat-tty the window's new size. Nothing happens when no moat-tty reads the FIFO
 * (not started yet, or ended): the next resize, or the start's size, says it again.
 */
export function resizeTerminal(ctl: string, size: TermSize): void {
  let fd: number | undefined;
  try {
    fd = openSync(ctl, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    writeSync(fd, `${size.rows} ${size.cols}\n`);
  } catch {
    /* ENXIO (no reader), ENOENT (no FIFO), EAGAIN (full: a later size follows) */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
