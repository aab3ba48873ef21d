/**
 * The unpack worker's side of following blobs that are still downloading (`moat pull`). After
 * the request line, the pull sends one JSON line per change of each followed blob, as
 * BlobFollower.progress() reports it, tagged with the blob's index `f`:
 *
 *   {"f":0,"file":"/…/blobs/.tmp-…"}   the store writes the blob there
 *   {"f":0,"wrote":1048576}            that many bytes are in the file now
 *   {"f":0,"done":true}                complete, digest and size verified
 *
 * The worker reads each file itself, so the bytes cross no pipe. The store renames a verified
 * blob into `blobs/sha256/…`; if that happened before the worker could open the temporary
 * name, it opens the final one (which only ever holds verified bytes).
 */
import { errnoCode } from '../errors.js';
import { BlobFollower } from './blob-follower.js';
import { ImageError } from './errors.js';

interface Followed {
  follower: BlobFollower;
  /** The blob's path once committed to the store. */
  final: string;
  open: boolean;
  wrote: number;
  done: boolean;
}

export class FollowFeed {
  private readonly blobs = new Map<number, Followed>();

  /** `finals[i]`: where blob `i` lands in the store once verified. */
  constructor(finals: Map<number, string>) {
    for (const [i, final] of finals)
      this.blobs.set(i, { follower: new BlobFollower(), final, open: false, wrote: 0, done: false });
  }

  follower(i: number): BlobFollower {
    const b = this.blobs.get(i);
    if (!b) throw new ImageError('IMAGE_WORKER_BAD_INPUT', `unpack request: no followed blob ${i}`);
    return b.follower;
  }

  /** Apply one event line; throws IMAGE_WORKER_BAD_INPUT (after failing every follower) on a bad one. */
  line(text: string): void {
    let ev: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      ev = v as Record<string, unknown>;
    } catch {
      throw this.bad(`follow event is not a JSON object: ${text.slice(0, 80)}`);
    }
    const b = typeof ev.f === 'number' ? this.blobs.get(ev.f) : undefined;
    if (!b) throw this.bad(`follow event for an unknown blob: ${text.slice(0, 80)}`);
    try {
      if (typeof ev.file === 'string') {
        if (!b.open) b.open = this.tryOpen(b, ev.file);
      } else if (typeof ev.wrote === 'number' && Number.isSafeInteger(ev.wrote) && ev.wrote >= b.wrote) {
        b.wrote = ev.wrote;
        if (b.open) b.follower.wrote(ev.wrote);
      } else if (ev.done === true) {
        if (!b.open) {
          // Renamed before we could open it: the committed blob is complete.
          b.follower.opened(b.final, true);
          b.open = true;
          b.follower.wrote(b.wrote);
        }
        b.done = true;
        b.follower.finish();
      } else {
        throw this.bad(`unknown follow event: ${text.slice(0, 80)}`);
      }
    } catch (e) {
      b.follower.fail(e);
      if (e instanceof ImageError) throw e;
    }
  }

  /** The pull stopped sending (it ended or died): what is not complete never will be. */
  ended(): void {
    this.fail(new ImageError('IMAGE_LAYER_UNREADABLE', 'the layer download stopped before it was complete'));
  }

  /** Fail every blob not complete with `e`. */
  fail(e: unknown): void {
    for (const b of this.blobs.values()) if (!b.done) b.follower.fail(e);
  }

  close(): void {
    for (const b of this.blobs.values()) b.follower.close();
  }

  private tryOpen(b: Followed, file: string): boolean {
    for (const f of [file, b.final]) {
      try {
        b.follower.opened(f, true);
        return true;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    return false; // neither yet: `done` opens the final name
  }

  private bad(why: string): ImageError {
    const e = new ImageError('IMAGE_WORKER_BAD_INPUT', why);
    for (const b of this.blobs.values()) b.follower.fail(e);
    return e;
  }
}
