/**
 * A blob on its way into the store (store.ts's putBlob): its bytes go to a new temp file under the
 * store's tmp/ while being hashed and counted. A wrong digest (IMAGE_DIGEST_MISMATCH) or size
 * (IMAGE_SIZE_MISMATCH, raised as soon as the stream runs past an announced size) deletes the temp
 * file, so nothing half-written is left; the store renames a verified temp file into blobs/.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkDigest, DigestStream } from './digest.js';
import { ImageError } from './errors.js';
import type { ProgressFn } from './types.js';

export interface BlobExpectation {
  digest: string;
  size?: number;
}

/** Told where an incoming blob is written and how far (to read it while it downloads). */
export interface BlobWriteObserver {
  opened(tmpFile: string): void;
  wrote(total: number): void;
}

export interface PutBlobResult {
  digest: string;
  size: number;
  /** False when the store already had the blob. */
  created: boolean;
}

/** Write `source` to a temp file in `tmpDir`, checked against `expected`; the caller renames or removes it. */
export async function writeVerifiedTemp(
  tmpDir: string,
  source: Readable | Buffer,
  expected: BlobExpectation | undefined,
  opts: { onProgress?: ProgressFn; observer?: BlobWriteObserver },
): Promise<{ tmp: string; digest: string; size: number }> {
  if (expected) {
    checkDigest(expected.digest, 'expected digest');
    if (expected.size !== undefined && !(Number.isSafeInteger(expected.size) && expected.size >= 0)) {
      throw new ImageError('IMAGE_SIZE_MISMATCH', `invalid expected size ${expected.size}`);
    }
  }
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const tmp = path.join(tmpDir, `blob-${randomBytes(8).toString('hex')}`);
  const what = expected ? `blob ${expected.digest}` : 'blob';
  const counter = new DigestStream({
    maxBytes: expected?.size,
    tooLarge: (n) =>
      new ImageError('IMAGE_SIZE_MISMATCH', `${what} is larger than the announced ${expected?.size} bytes`, {
        details: { expected: expected?.size, atLeast: n },
      }),
    onBytes: opts.onProgress
      ? (n) =>
          opts.onProgress?.({ phase: 'blob', current: n, total: expected?.size, digest: expected?.digest })
      : undefined,
  });
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const fh = await fsp.open(tmp, 'wx', 0o400);
  const observer = opts.observer;
  let written = 0;
  try {
    observer?.opened(tmp);
    // The sink must be allowed to close: with autoClose false it never emits 'close', and
    // pipeline() (Node 20) waits for that forever.
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        fh.write(chunk).then(() => {
          written += chunk.length;
          observer?.wrote(written);
          cb();
        }, cb);
      },
      final: (cb) => {
        fh.sync().then(() => cb(), cb);
      },
    });
    await pipeline(input, counter, sink);
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  const { digest, size } = counter;
  if (expected?.size !== undefined && size !== expected.size) {
    await fsp.rm(tmp, { force: true });
    throw new ImageError('IMAGE_SIZE_MISMATCH', `${what} is ${size} bytes, announced ${expected.size}`, {
      details: { expected: expected.size, actual: size },
    });
  }
  if (expected && digest !== expected.digest) {
    await fsp.rm(tmp, { force: true });
    throw new ImageError('IMAGE_DIGEST_MISMATCH', `${what} has digest ${digest}`, {
      details: { expected: expected.digest, actual: digest },
    });
  }
  return { tmp, digest, size };
}
