/**
 * A docker client's terminal, as moat's ConsoleClient (runtime/tty.ts) for the attach, start or
 * exec it is attached through: its window comes from Docker's resize requests
 * (`POST /containers/{id}/resize`, `POST /exec/{id}/resize`), and it detaches when the client
 * leaves (docker's detach keys are the CLI's own: it closes the connection).
 *
 * A resize that comes before the terminal exists is kept, not lost: the docker CLI sends its
 * window's size as soon as the start is answered, and the process (runc, then moat-tty, which
 * reads the sizes) may still be starting. The last size asked is then the start size, or is
 * applied once the process runs (`started`); resizing to the size a terminal has changes nothing.
 */
import type { ConsoleClient, TermSize } from '../../runtime/tty.js';
import { termSize } from '../../runtime/tty.js';
import { ApiError } from '../errors.js';

export class DockerConsole implements ConsoleClient {
  /** The last size asked (the start size, when the process has not started yet). */
  size?: TermSize;
  readonly detached: Promise<void>;
  private readonly listeners = new Set<(s: TermSize) => void>();
  private leave!: () => void;

  /** `live`: the terminal exists already (an attach to a running container). */
  constructor(private live = false) {
    this.detached = new Promise((resolve) => (this.leave = resolve));
  }

  readonly onResize = (fn: (s: TermSize) => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** A resize request: applied now, or kept until the process runs. */
  resize(s: TermSize): void {
    this.size = s;
    if (this.live) for (const fn of this.listeners) fn(s);
  }

  /** The process runs: the size asked meanwhile applies. */
  started(): void {
    if (this.live) return;
    this.live = true;
    if (this.size) for (const fn of this.listeners) fn(this.size);
  }

  /** The client left: the container (or exec) runs on without it. */
  detach(): void {
    this.leave();
  }
}

/** `?h=ROWS&w=COLS` of a resize request, or API_INVALID_REQUEST. */
export function sizeOf(q: URLSearchParams): TermSize {
  const num = (v: string | null) => (v !== null && /^\d+$/.test(v) ? Number(v) : NaN);
  const s = termSize(num(q.get('h')), num(q.get('w')));
  if (!s)
    throw new ApiError(
      'API_INVALID_REQUEST',
      `a terminal size needs h and w between 1 and 10000 (h=${String(q.get('h')).slice(0, 12)}, w=${String(q.get('w')).slice(0, 12)})`,
    );
  return s;
}
