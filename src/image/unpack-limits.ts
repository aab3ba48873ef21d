/**
 * How much one image may unpack to. Compression hides sizes: a 9 MB layer of zeros unpacks to
 * gigabytes, and a layer of empty files to millions of inodes, and the manifest's sizes (which
 * registry/config.ts limits) are the compressed ones. So the unpacker counts what it writes, over
 * all of an image's layers, and stops at the first entry that would go past a limit:
 *
 *   - bytes: regular-file data, counted from the tar header's size before a byte is written (a
 *     file declaring 100 GiB fails at once, not after filling the disk). Every file counts,
 *     including one a later layer replaces or deletes: the disk held it meanwhile. A hardlink
 *     adds no bytes (it shares its target's). moat writes no sparse files: a file is as large as
 *     its data in the tar, so its declared size is what it takes.
 *   - entries: files, directories, symlinks and hardlinks created (whiteouts are not counted).
 *
 * The unpack then fails with IMAGE_UNPACK_LIMIT and its temporary tree is removed (rootfs.ts).
 */
import { ImageError } from './errors.js';

export interface UnpackLimits {
  /** Bytes of file data over all layers (Infinity: no limit). */
  maxBytes: number;
  /** Files, directories and links over all layers (Infinity: no limit). */
  maxEntries: number;
}

/**
 * Generous: the largest images in common use (CUDA and ML framework images) unpack to 15-25 GB
 * and a few hundred thousand files; a laptop should not give more than this to one image without
 * being asked.
 */
export const DEFAULTS: Readonly<UnpackLimits> = Object.freeze({
  maxBytes: 32 * 2 ** 30,
  maxEntries: 1_000_000,
});

export const ENV = { maxBytes: 'MOAT_UNPACK_MAX_BYTES', maxEntries: 'MOAT_UNPACK_MAX_ENTRIES' } as const;

/**
 * Limits from the environment (`MOAT_UNPACK_MAX_BYTES`, `MOAT_UNPACK_MAX_ENTRIES`: a decimal
 * integer, `0` for no limit), each defaulting to DEFAULTS. A malformed value is ignored: a typo
 * must not lift the limit.
 */
export function unpackLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): UnpackLimits {
  const read = (name: string, def: number): number => {
    const s = env[name];
    if (s === undefined || !/^\d{1,15}$/.test(s)) return def;
    const n = Number(s);
    return n === 0 ? Infinity : n;
  };
  return {
    maxBytes: read(ENV.maxBytes, DEFAULTS.maxBytes),
    maxEntries: read(ENV.maxEntries, DEFAULTS.maxEntries),
  };
}

/** For the worker's JSON request, where Infinity cannot travel: null is no limit. */
export type WireLimits = { maxBytes: number | null; maxEntries: number | null };

export const toWire = (l: UnpackLimits): WireLimits => ({
  maxBytes: Number.isFinite(l.maxBytes) ? l.maxBytes : null,
  maxEntries: Number.isFinite(l.maxEntries) ? l.maxEntries : null,
});

/** What one image's unpack has used so far, shared by the writers of all its layers. */
export class UnpackBudget {
  bytes = 0;
  entries = 0;

  constructor(readonly limits: UnpackLimits = { maxBytes: Infinity, maxEntries: Infinity }) {}

  /** Count one entry about to be created (with `bytes` of data); throws past a limit. */
  take(name: string, bytes = 0): void {
    if (this.entries + 1 > this.limits.maxEntries) {
      throw over(
        `the image has more than ${this.limits.maxEntries} files, directories and links (at ${JSON.stringify(name)})`,
        ENV.maxEntries,
        { limit: this.limits.maxEntries, entries: this.entries },
      );
    }
    if (this.bytes + bytes > this.limits.maxBytes) {
      throw over(
        `the image unpacks to more than ${this.limits.maxBytes} bytes (${this.bytes} written, then ${JSON.stringify(name)} of ${bytes})`,
        ENV.maxBytes,
        { limit: this.limits.maxBytes, bytes: this.bytes, entry: bytes },
      );
    }
    this.entries++;
    this.bytes += bytes;
  }
}

function over(message: string, setting: string, details: Record<string, unknown>): ImageError {
  return new ImageError('IMAGE_UNPACK_LIMIT', message, {
    hint: `nothing was kept. If you trust the image, raise ${setting} (0: no limit) in moat's environment (for the API, the service's)`,
    details: { setting, ...details },
  });
}
