/**
 * Holds a command's output until it has started. Until then, whatever arrives on its stdout and
 * stderr is runc's (a failed start ends with runc's own error line, which moat reports as an
 * error of its own, once): `open()` releases what was held, in arrival order, and passes the
 * rest through; `discard()` drops it. Bounded: past MAX_HELD bytes it opens by itself.
 */
import type { Writable } from 'node:stream';

const MAX_HELD = 1 << 20;

export class StartGate {
  private held: { to: Writable; chunk: Buffer }[] | undefined = [];
  private size = 0;

  get isOpen(): boolean {
    return this.held === undefined;
  }

  /** Write `chunk` to `to` now (returning `to.write`'s answer) or hold it (returning true). */
  write(to: Writable, chunk: Buffer): boolean {
    if (!this.held) return to.write(chunk);
    this.held.push({ to, chunk });
    this.size += chunk.length;
    if (this.size > MAX_HELD) this.open();
    return true;
  }

  /** The command runs: release what was held and pass everything through from now on. */
  open(): void {
    const held = this.held;
    this.held = undefined;
    for (const h of held ?? []) if (!h.to.destroyed && !h.to.writableEnded) h.to.write(h.chunk);
  }

  /** The start failed: what was held is runc's own output, reported otherwise. */
  discard(): string {
    const text = Buffer.concat((this.held ?? []).map((h) => h.chunk)).toString('utf8');
    this.held = undefined;
    return text;
  }
}
