import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ImageError } from './errors.js';

/**
 * Digests and the streams that compute them. moat's store is sha256-only: every digest it accepts
 * is `sha256:` followed by 64 lowercase hex digits.
 */

export const SHA256_DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && SHA256_DIGEST_RE.test(s);
}

/** Return `s` if it is a sha256 digest, else throw IMAGE_INVALID_DIGEST naming `what`. */
export function checkDigest(s: unknown, what = 'digest'): string {
  if (isDigest(s)) return s;
  const shown = typeof s === 'string' ? JSON.stringify(s.slice(0, 100)) : typeof s;
  const hint =
    typeof s === 'string' && /^[a-z0-9]+[+._-]?[a-z0-9]*:/.test(s) && !s.startsWith('sha256:')
      ? 'moat only supports sha256 digests'
      : undefined;
  throw new ImageError('IMAGE_INVALID_DIGEST', `invalid ${what}: ${shown}`, { hint });
}

/** The hex part of a sha256 digest (which must already be valid). */
export function digestHex(digest: string): string {
  return checkDigest(digest).slice('sha256:'.length);
}

export function sha256Digest(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** The compression a blob's first bytes announce. */
export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    return 'zstd';
  }
  return 'none';
}

export interface DigestStreamOptions {
  /** Fail as soon as more than this many bytes arrive (an oversized blob is refused early). */
  maxBytes?: number;
  /** The error to fail with when `maxBytes` is exceeded. */
  tooLarge?: (size: number) => Error;
  /** Called with the running byte count after each chunk. */
  onBytes?: (size: number) => void;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private finalDigest?: string;

  constructor(private readonly opts: DigestStreamOptions = {}) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    const max = this.opts.maxBytes;
    if (max !== undefined && this.count > max) {
      cb(this.opts.tooLarge?.(this.count) ?? new Error(`more than ${max} bytes`));
      return;
    }
    this.hash.update(chunk);
    this.opts.onBytes?.(this.count);
    cb(null, chunk);
  }

  get size(): number {
    return this.count;
  }

  /** Valid once the stream has finished. */
  get digest(): string {
    this.finalDigest ??= 'sha256:' + this.hash.digest('hex');
    return this.finalDigest;
  }
}

/**
 * A pass-through stream that also computes the layer's diffID (the sha256 of the uncompressed
 * tar) on the side: gzip is inflated into a hash, uncompressed data is hashed as is. For zstd
 * (which Node 20 cannot inflate) or a broken gzip stream, `diffId` stays undefined and
 * `diffIdError` says why. The side inflater's backpressure is respected, so a fast reader does not
 * buffer a whole layer in memory.
 */
export class DiffIdTap extends Transform {
  compression?: Compression;
  diffId?: string;
  diffIdError?: string;
  private head: Buffer[] = [];
  private headLen = 0;
  private readonly plain = createHash('sha256');
  private inflater?: ReturnType<typeof createGunzip>;
  private inflated?: Hash;
  private inflateDone?: Promise<void>;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.compression === undefined) {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen < 4) {
        cb();
        return;
      }
      this.decide();
      const buffered = Buffer.concat(this.head);
      this.head = [];
      this.feed(buffered, cb);
      return;
    }
    this.feed(chunk, cb);
  }

  override _flush(cb: TransformCallback): void {
    const finish = (): void => {
      if (this.compression === 'none') this.diffId = 'sha256:' + this.plain.digest('hex');
      if (this.inflater && this.inflateDone) {
        this.inflater.end();
        this.inflateDone.then(
          () => cb(),
          () => cb(),
        );
      } else {
        cb();
      }
    };
    if (this.compression === undefined) {
      this.decide();
      const buffered = Buffer.concat(this.head);
      this.head = [];
      this.feed(buffered, (err, data) => {
        if (err) return cb(err);
        if (data && (data as Buffer).length > 0) this.push(data);
        finish();
      });
      return;
    }
    finish();
  }

  private decide(): void {
    this.compression = sniffCompression(Buffer.concat(this.head).subarray(0, 4));
    if (this.compression === 'gzip') {
      const inflater = createGunzip();
      const hash = createHash('sha256');
      this.inflater = inflater;
      this.inflated = hash;
      inflater.on('data', (d: Buffer) => hash.update(d));
      this.inflateDone = new Promise<void>((resolve) => {
        inflater.on('end', () => {
          this.diffId = 'sha256:' + hash.digest('hex');
          resolve();
        });
        inflater.on('error', (e: Error) => {
          this.diffIdError = `not valid gzip: ${e.message}`;
          this.inflater = undefined;
          resolve();
        });
      });
    } else if (this.compression === 'zstd') {
      this.diffIdError = 'zstd layers cannot be inflated by Node 20';
    }
  }

  private feed(chunk: Buffer, cb: TransformCallback): void {
    if (this.compression === 'none') this.plain.update(chunk);
    const inflater = this.inflater;
    if (inflater && chunk.length > 0 && !inflater.destroyed) {
      if (!inflater.write(chunk)) {
        let called = false;
        const go = (): void => {
          if (called) return;
          called = true;
          inflater.off('drain', go);
          inflater.off('error', go);
          cb(null, chunk);
        };
        inflater.once('drain', go);
        inflater.once('error', go);
        return;
      }
    }
    cb(null, chunk);
  }
}

/** Read up to `n` bytes from the front of `source` and put them back, without ending it. */
export async function peek(source: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const c = source.read() as Buffer | null;
    if (c !== null) {
      chunks.push(c);
      len += c.length;
      continue;
    }
    if (source.readableEnded || source.destroyed) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const done = (v: boolean) => () => {
        source.off('readable', onReadable);
        source.off('end', onEnd);
        source.off('error', onError);
        resolve(v);
      };
      const onReadable = done(false);
      const onEnd = done(true);
      const onError = (e: Error): void => {
        source.off('readable', onReadable);
        source.off('end', onEnd);
        reject(e);
      };
      source.once('readable', onReadable);
      source.once('end', onEnd);
      source.once('error', onError);
    });
    if (ended) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) source.unshift(head);
  return head;
}

/** `source`, inflated if it starts with the gzip magic. */
export async function maybeGunzip(source: Readable): Promise<{ stream: Readable; gzip: boolean }> {
  const head = await peek(source, 2);
  if (sniffCompression(head) !== 'gzip') return { stream: source, gzip: false };
  const gunzip = createGunzip();
  return { stream: pipeline(source, gunzip, () => {}), gzip: true };
}
