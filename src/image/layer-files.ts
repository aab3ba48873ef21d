/**
 * A few small files of an image (its /etc/passwd and /etc/group) read from its layers in the
 * store, without unpacking anything: what `run` needs to resolve the user before the policy has
 * decided, for an image whose root is not unpacked yet. The layers are read from the top down;
 * the first layer that says something about a file decides it (a regular file: its text; a
 * whiteout, an opaque parent or anything else: absent). A symlink or hard link as the file is
 * followed inside the image, as `readRootFile` resolves it in an unpacked root (an absolute target
 * is taken from the image's root, `..` never leaves it, at most 8 links): the first run of an
 * image reads what every later run reads from its unpacked root. A symlinked parent directory is
 * not followed here (the file then counts as absent).
 */
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { openLayerStream } from './unpack-stream.js';
import { classifyWhiteout } from './whiteout.js';

const MAX_BYTES = 1 << 20;
const MAX_LINKS = 8;

/** A link's target as a path inside the image root (`..` stops at the root, as securejoin). */
function inRoot(from: string, target: string, hard: boolean): string {
  const joined = hard || target.startsWith('/') ? target : `${path.posix.dirname(from)}/${target}`;
  const out: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** A link found where a file was asked for: followed after the scan. */
const LINK = Symbol('link');
type Decision = string | undefined | { [LINK]: string };

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
): Promise<{ decided: Map<string, Decision>; hidden: Set<string> }> {
  const decided = new Map<string, Decision>();
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
            if (h.type === 'file') decided.set(n, await readCapped(entry));
            else if ((h.type === 'symlink' || h.type === 'link') && h.linkname)
              decided.set(n, { [LINK]: inRoot(n, h.linkname, h.type === 'link') });
            else decided.set(n, undefined);
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
  hops = 0,
): Promise<Map<string, string | undefined>> {
  const found = new Map<string, Decision>();
  let pending = names.map(cleanName);
  for (let i = layers.length - 1; i >= 0 && pending.length > 0; i--) {
    const { decided, hidden } = await scanLayer(layers[i], pending);
    for (const n of pending) {
      if (decided.has(n)) found.set(n, decided.get(n));
      else if (hidden.has(n)) found.set(n, undefined);
    }
    pending = pending.filter((n) => !found.has(n));
  }
  const out = new Map<string, string | undefined>();
  const links = new Map<string, string>();
  for (const n of names.map(cleanName)) {
    const d = found.get(n);
    if (d !== undefined && typeof d === 'object') links.set(n, d[LINK]);
    else out.set(n, d);
  }
  if (links.size) {
    // Too many links (a loop): absent, as the in-root resolver refuses it.
    const targets =
      hops < MAX_LINKS ? await readLayerFiles(layers, [...new Set(links.values())], hops + 1) : new Map();
    for (const [n, t] of links) out.set(n, targets.get(t) as string | undefined);
  }
  return out;
}
