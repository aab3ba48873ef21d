/**
 * Read a blob while it is being written: `moat pull` hands each layer to the unpack worker as it
 * downloads. The follower opens the store's temporary file as soon as it exists (the descriptor
 * stays valid across the rename into `blobs/`), reads up to what has been written so far, and
 * waits for more. It ends only when the store has verified the blob's digest and size; if the
 * download fails, readers fail with the download's error. Nothing read here is committed by
 * itself: whoever consumes the bytes must wait for the verification too (see rootfs.ts).
 */
import { closeSync, openSync, read } from 'node:fs';

const CHUNK = 1 << 20;

export class BlobFollower {
  private fd?: number;
  private written = 0;
  private done = false;
  private error?: unknown;
  private waiters: (() => void)[] = [];

  /** A blob already in the store: complete from the start. */
  static complete(file: string, size: number): BlobFollower {
    const f = new BlobFollower();
    f.opened(file);
    f.wrote(size);
    f.finish();
    return f;
  }

  /** The store created the file the blob is being written to. */
  opened(file: string): void {
    if (this.fd !== undefined) return;
    this.fd = openSync(file, 'r');
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

  /** The blob's bytes in order; may be called more than once (a layer listed twice). */
  async *read(): AsyncGenerator<Buffer> {
    let pos = 0;
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (pos < this.written) {
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
