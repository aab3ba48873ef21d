import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { extract } from 'tar-stream';
import { isMoatError } from '../../errors.js';
import { ImageError } from '../../image/errors.js';
import type { ImageStore } from '../../image/store.js';
import { openLayerStream } from '../../image/unpack-stream.js';
import type { ScanLimits } from '../defaults.js';
import type { StopReason } from '../rules/hazards.js';
import {
  LayerAccumulator,
  type ContentPlan,
  type FileKeeper,
  type LayerScan,
  type LayerScanner,
} from './layer-scan.js';

/**
 * Stream one stored layer (gzip or plain tar) through the scanners, never extracting anything:
 * each entry's header goes to the accumulator, and a file's content is read once, up to the
 * largest cap among the scanners that want it, then drained. Memory is bounded by that cap; bytes
 * and entries are counted against the limits, and a limit that is hit stops the read with a
 * hazard finding instead of an error.
 */

export interface LayerRef {
  digest: string;
  /** Compressed size (the blob's): the decompression-bomb ratio is taken against it. */
  size: number;
  mediaType?: string;
}

/** Entries and bytes already read from the image's other layers. */
export interface WalkTotals {
  entries: number;
  bytes: number;
}

export interface WalkParams {
  scanners: readonly LayerScanner[];
  keepers: readonly FileKeeper[];
  limits: ScanLimits;
  totals: WalkTotals;
  retain: { left: number };
  /** How to open the layer as an uncompressed tar (default: the store's blob, gunzipped if it is gzip). */
  open?: (layer: LayerRef) => Readable;
}

/** Let other work run this often while a big layer is read (an API server shares the loop). */
const YIELD_MS = 20;

class Stop extends Error {
  constructor(readonly reason: StopReason) {
    super('scan limit');
  }
}

/** Counts uncompressed bytes, failing with Stop once a byte limit is passed. */
class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly check: (bytes: number) => StopReason | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    const why = this.check(this.bytes);
    if (why) cb(new Stop(why));
    else cb(null, chunk);
  }
}

export function defaultOpen(store: ImageStore): (layer: LayerRef) => Readable {
  return (layer) => openLayerStream(store.blobPath(layer.digest), layer.mediaType);
}

export async function walkLayer(layer: LayerRef, p: WalkParams, store?: ImageStore): Promise<LayerScan> {
  const open = p.open ?? (store ? defaultOpen(store) : undefined);
  if (!open) throw new TypeError('walkLayer needs a store or an open function');
  const { limits, totals } = p;
  const acc = new LayerAccumulator(layer.digest, p.scanners, p.keepers, limits, p.retain);
  const startBytes = totals.bytes;
  const counter = new ByteCounter((n) => {
    if (n > limits.maxLayerBytes) return { kind: 'bytes', limit: limits.maxLayerBytes, scope: 'layer' };
    if (startBytes + n > limits.maxTotalBytes)
      return { kind: 'bytes', limit: limits.maxTotalBytes, scope: 'image' };
    if (n > limits.bombMinBytes && n > limits.maxRatio * layer.size) {
      return { kind: 'bomb', uncompressed: n, compressed: layer.size, maxRatio: limits.maxRatio };
    }
    return undefined;
  });
  const src = open(layer);
  const tar = extract();
  let stop: StopReason | undefined;
  const fail = (e: Error): void => {
    if (e instanceof Stop) stop ??= e.reason;
    tar.destroy(e);
  };
  src.on('error', fail);
  counter.on('error', fail);
  tar.on('error', () => {});
  src.pipe(counter).pipe(tar);
  try {
    let yielded = performance.now();
    for await (const entry of tar) {
      const h = entry.header;
      if (acc.count >= limits.maxEntriesPerLayer) {
        stop = { kind: 'entries', limit: limits.maxEntriesPerLayer, scope: 'layer' };
        break;
      }
      if (totals.entries + acc.count >= limits.maxTotalEntries) {
        stop = { kind: 'entries', limit: limits.maxTotalEntries, scope: 'image' };
        break;
      }
      const plan = acc.add(h);
      if (plan) await readContent(acc, plan, entry as AsyncIterable<Buffer>);
      else for await (const _ of entry) void _;
      if (performance.now() - yielded > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
    }
  } catch (e) {
    // A limit destroys the streams on purpose; anything else (corrupt gzip, a truncated tar) is an error.
    if (stop === undefined) throw corrupt(e, layer);
  } finally {
    src.destroy();
    counter.destroy();
    tar.destroy();
  }
  totals.entries += acc.count;
  totals.bytes += counter.bytes;
  return acc.finish(counter.bytes, stop);
}

/** Buffer an entry's content up to the plan's cap (the rest is drained), then hand it over. */
async function readContent(
  acc: LayerAccumulator,
  plan: ContentPlan,
  body: AsyncIterable<Buffer>,
): Promise<void> {
  const chunks: Buffer[] = [];
  let have = 0;
  let total = 0;
  let p: ContentPlan | undefined = plan;
  for await (const c of body) {
    total += c.length;
    if (!p || have >= p.cap) continue;
    chunks.push(have + c.length > p.cap ? c.subarray(0, p.cap - have) : c);
    have = Math.min(p.cap, have + c.length);
    if (p.head > 0 && have >= p.head) {
      p = acc.sniff(p, firstBytes(chunks, p.head));
      p.head = 0;
      if (p.scanners.length === 0 && p.keepers.length === 0) {
        p = undefined;
        chunks.length = 0;
      }
    }
  }
  if (!p) return;
  if (p.head > 0) p = acc.sniff(p, firstBytes(chunks, p.head));
  acc.content(p, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), total > have);
}

/** The first `n` bytes of `chunks` (all of them if fewer), copied only when they span chunks. */
function firstBytes(chunks: Buffer[], n: number): Buffer {
  if (chunks.length === 0) return Buffer.alloc(0);
  if (chunks.length === 1 || chunks[0].length >= n) return chunks[0].subarray(0, n);
  const have = chunks.reduce((sum, c) => sum + c.length, 0);
  return Buffer.concat(chunks, Math.min(n, have));
}

/** A layer tar-stream cannot read (truncated, not a tar): IMAGE_CORRUPT_LAYER, as the unpacker says. */
function corrupt(e: unknown, layer: LayerRef): unknown {
  if (isMoatError(e)) return e;
  return new ImageError(
    'IMAGE_CORRUPT_LAYER',
    `layer ${layer.digest} is not a readable tar: ${(e as Error)?.message ?? String(e)}`,
    {
      cause: e,
      details: { digest: layer.digest },
    },
  );
}
