/**
 * Follow a blob while it is being written: `moat pull` unpacks each layer as it downloads. The
 * pull's side records where the store writes the blob and how far (`opened`, `wrote`, `finish`)
 * and reports it as `progress()` events; the unpack worker, a separate process, feeds the same
 * events to a follower of its own and reads the file itself (`read()`), up to what has been
 * written so far. The descriptor stays valid across the store's rename into `blobs/`. A follower
 * ends only when the store has verified the blob's digest and size; if the download fails,
 * readers fail with the download's error. Nothing read here is committed by itself: whoever
 * consumes the bytes must wait for the verification too (see rootfs.ts).
 */
import { closeSync, openSync, read } from 'node:fs';

const CHUNK = 1 << 20;

/** What `progress()` reports: the file, then how much is in it, then the end. */
export type FollowEvent = { file: string } | { wrote: number } | { done: true };

export class BlobFollower {
  private fd?: number;
  private file?: string;
  private written = 0;
  private done = false;
  private error?: unknown;
  private waiters: (() => void)[] = [];

  /**
   * The store created the file the blob is being written to. With `open`, the file is opened
   * now (throws if it cannot be), for `read()`; the pull's side only passes the name on.
   */
  opened(file: string, open = false): void {
    if (this.file !== undefined) return;
    if (open) this.fd = openSync(file, 'r');
    this.file = file;
    this.wake();
  }

  /** `total` bytes are in the file now. */
  wrote(total: number): void {
    this.written = total;
    this.wake();
  }

  /** The blob is complete and verified. */
  finish(): void {
    this.done = true;
    this.wake();
  }

  fail(e: unknown): void {
    this.error ??= e ?? new Error('download failed');
    this.wake();
  }

  /**
   * The file's name, then each new total written, then `done`; throws the download's error. A
   * waiting consumer is woken on every change, so totals are coalesced while it is busy.
   */
  async *progress(): AsyncGenerator<FollowEvent> {
    let sentFile = false;
    let sent = -1;
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (!sentFile && this.file !== undefined) {
        sentFile = true;
        yield { file: this.file };
      } else if (sentFile && this.written !== sent) {
        sent = this.written;
        yield { wrote: sent };
      } else if (this.done) {
        if (!sentFile) throw new Error('blob finished without a file');
        yield { done: true };
        return;
      } else {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    }
  }

  /**
   * The blob's bytes in order, read from the file opened with `opened(file, true)`; may be
   * called more than once (a layer listed twice).
   */
  async *read(): AsyncGenerator<Buffer> {
    let pos = 0;
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (pos < this.written) {
        if (this.fd === undefined) throw new Error('blob follower: no file opened to read');
        const n = Math.min(CHUNK, this.written - pos);
        const buf = Buffer.allocUnsafe(n);
        const fd = this.fd!;
        const bytesRead = await new Promise<number>((resolve, reject) =>
          read(fd, buf, 0, n, pos, (e, got) => (e ? reject(e) : resolve(got))),
        );
        if (bytesRead === 0) throw new Error(`blob file shorter than the ${this.written} bytes written`);
        pos += bytesRead;
        yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
