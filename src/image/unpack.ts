import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { isMoatError } from '../errors.js';
import { ImageError } from './errors.js';
import type { UnpackBudget } from './unpack-limits.js';
import { RootResolver } from './unpack-resolver.js';
import { LayerWriter } from './unpack-writer.js';

export { openLayerReadable, openLayerStream, sniffCompression, type Compression } from './unpack-stream.js';

/**
 * How long the entry loop may run before it lets the event loop run. Decompression goes on only
 * once the main thread has taken its last output (see unpack-stream.ts), and while tar data is
 * buffered the loop runs on promise callbacks alone, which never let it: gunzip would wait.
 */
const YIELD_MS = 0.5;

export interface ApplyOptions {
  /**
   * 'preserve': lchown entries to the uid/gid in the tar (we run inside a user namespace whose
   * mapping covers them). 'squash': don't chown (single-ID user namespace: everything belongs to
   * the one mapped ID); count the entries that had non-zero owners.
   */
  ownership: 'preserve' | 'squash';
  /** Limits on what the image unpacks to, shared by all its layers (unpack-limits.ts). */
  budget?: UnpackBudget;
}

export interface LayerStats {
  /** Filesystem objects created or updated: files, directories, symlinks, hardlinks. */
  entries: number;
  /** Bytes of regular-file data written. */
  bytes: number;
  /** Whiteout entries applied (`.wh.NAME`, opaque markers, overlay 0:0 devices). */
  whiteouts: number;
  /** With ownership 'squash': entries whose tar owner was not 0:0. */
  squashedOwners: number;
}

/**
 * Apply one uncompressed layer tar onto `rootfs`, in tar order, refusing hostile entries. Layers
 * must be applied in manifest order, each after the previous one resolved. On failure the rootfs
 * is left half-written and must be discarded. See docs/unpack.md for what is refused.
 */
export async function applyLayer(
  rootfs: string,
  layer: NodeJS.ReadableStream | Readable,
  opts: ApplyOptions,
): Promise<LayerStats> {
  const src = layer as Readable;
  // Listen for the source's errors at once: a stream that fails while we look at the rootfs
  // must not throw from an event nobody listens to. A failed source also ends the entry loop
  // itself: tar-stream may be waiting for input that will never come.
  const tar = extract();
  let sourceFailed: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (sourceFailed = reject));
  failed.catch(() => {});
  src.on('error', (e) => {
    sourceFailed(e);
    tar.destroy(e);
  });
  // Errors reach the loop by its iterator or `failed`; without a listener streamx would throw.
  tar.on('error', () => {});
  let root: string;
  try {
    root = await rootDir(rootfs);
  } catch (e) {
    src.destroy?.();
    tar.destroy();
    throw e;
  }

  const writer = new LayerWriter(new RootResolver(root), opts);
  src.pipe(tar);
  const entries = async (): Promise<void> => {
    let yielded = performance.now();
    for await (const entry of tar) {
      try {
        // tar-stream entries yield Buffers; its types say unknown.
        await writer.entry(entry.header, entry as AsyncIterable<Uint8Array>);
      } catch (e) {
        throw fromEntry(e, entry.header.name);
      }
      // Whatever the entry was, its data must be consumed before tar-stream moves on.
      for await (const _ of entry) void _;
      if (performance.now() - yielded > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
    }
  };
  try {
    await Promise.race([entries(), failed]);
    try {
      writer.finish();
    } catch (e) {
      throw fromEntry(e, '');
    }
  } catch (e) {
    src.destroy?.();
    tar.destroy();
    throw classify(e);
  }
  return writer.stats;
}

async function rootDir(rootfs: string): Promise<string> {
  let root: string | undefined;
  try {
    root = await fsp.realpath(rootfs);
    if ((await fsp.stat(root)).isDirectory()) return root;
  } catch (e) {
    throw new ImageError('IMAGE_UNPACK_FAILED', `rootfs ${rootfs} is not a directory`, { cause: e });
  }
  throw new ImageError('IMAGE_UNPACK_FAILED', `rootfs ${rootfs} is not a directory`);
}

class EntryFailure {
  constructor(readonly error: ImageError) {}
}

/** Errors raised while applying an entry are ours or the filesystem's, never the tar's. */
function fromEntry(e: unknown, name: string): EntryFailure {
  if (e instanceof ImageError) return new EntryFailure(e);
  if (isSystemError(e)) {
    return new EntryFailure(
      new ImageError('IMAGE_UNPACK_FAILED', `unpacking ${JSON.stringify(name)}: ${(e as Error).message}`, {
        cause: e,
        details: { name },
      }),
    );
  }
  // Reading the entry's data failed: the tar or its compression is broken.
  return new EntryFailure(corrupt(e));
}

function classify(e: unknown): Error {
  if (e instanceof EntryFailure) return e.error;
  if (isMoatError(e)) return e; // e.g. openLayerStream's errors, passed on by the source stream
  if (isSystemError(e))
    return new ImageError('IMAGE_UNPACK_FAILED', `unpacking: ${(e as Error).message}`, { cause: e });
  return corrupt(e);
}

function corrupt(e: unknown): ImageError {
  return new ImageError(
    'IMAGE_CORRUPT_LAYER',
    `layer is not a valid tar: ${e instanceof Error ? e.message : String(e)}`,
    {
      hint: 'The blob may be truncated or not a layer at all; pull the image again.',
      cause: e,
    },
  );
}

/** fs errors carry `syscall`; zlib's and tar-stream's do not. */
function isSystemError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && typeof (e as { syscall?: unknown }).syscall === 'string';
}
