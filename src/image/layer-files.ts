/**
 * A few small files of an image (its /etc/passwd and /etc/group) read from its layers in the
 * store, without unpacking anything: what `run` needs to resolve the user before the policy has
 * decided, for an image whose root is not unpacked yet. The layers are read from the top down;
 * the first layer that says something about a file decides it (a regular file: its text; a
 * whiteout, an opaque parent, a symlink, a link or anything else: absent, as `readRootFile`
 * finds a symlink in an unpacked root).
 */
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { openLayerStream } from './unpack-stream.js';
import { classifyWhiteout } from './whiteout.js';

const MAX_BYTES = 1 << 20;

export interface LayerBlob {
  /** The blob's file in the store. */
  path: string;
  mediaType?: string;
}

type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

function cleanName(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

const under = (name: string, dir: string) => dir === '' || name.startsWith(`${dir}/`);

async function readCapped(entry: TarEntry): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of entry as AsyncIterable<Buffer>) {
    n += c.length;
    if (n <= MAX_BYTES) chunks.push(c);
  }
  return n <= MAX_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined;
}

/** What one layer says about each of `names` (a decision), and which it hides below (opaque). */
async function scanLayer(
  layer: LayerBlob,
  names: readonly string[],
): Promise<{ decided: Map<string, string | undefined>; hidden: Set<string> }> {
  const decided = new Map<string, string | undefined>();
  const hidden = new Set<string>();
  const stream: Readable = openLayerStream(layer.path, layer.mediaType);
  const extract = tar.extract();
  stream.on('error', (e: Error) => extract.destroy(e));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = cleanName(h.name);
      const dir = path.posix.dirname(name) === '.' ? '' : path.posix.dirname(name);
      let wo;
      try {
        wo = classifyWhiteout(path.posix.basename(name));
      } catch {
        wo = { kind: 'meta' as const };
      }
      let read = false;
      for (const n of names) {
        if (wo.kind === 'remove') {
          const gone = dir ? `${dir}/${wo.name}` : wo.name;
          if (n === gone || under(n, gone)) decided.set(n, undefined);
        } else if (wo.kind === 'opaque') {
          if (under(n, dir)) hidden.add(n);
        } else if (wo.kind === 'none') {
          if (name === n) {
            // A later entry of the same name in this layer wins, as it would when unpacked.
            decided.set(n, h.type === 'file' ? await readCapped(entry) : undefined);
            read = h.type === 'file';
          } else if (under(n, name) && h.type !== 'directory') {
            decided.set(n, undefined);
          }
        }
      }
      if (!read) entry.resume();
    }
  } finally {
    stream.destroy();
    extract.destroy();
  }
  return { decided, hidden };
}

/**
 * The text of each of `names` (paths relative to the image root, e.g. `etc/passwd`) in the image
 * made of `layers` (bottom first); undefined for one that is absent or not a regular file.
 */
export async function readLayerFiles(
  layers: readonly LayerBlob[],
  names: readonly string[],
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  let pending = names.map(cleanName);
  for (let i = layers.length - 1; i >= 0 && pending.length > 0; i--) {
    const { decided, hidden } = await scanLayer(layers[i], pending);
    for (const n of pending) {
      if (decided.has(n)) out.set(n, decided.get(n));
      else if (hidden.has(n)) out.set(n, undefined);
    }
    pending = pending.filter((n) => !out.has(n));
  }
  for (const n of pending) out.set(n, undefined);
  return out;
}
