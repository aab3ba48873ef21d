import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { digestHex, sha256Digest } from '../../image/digest.js';
import { errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../../util/fsutil.js';
import { DEFAULTS } from '../defaults.js';
import type { LayerScan } from './layer-scan.js';

/**
 * Scan results kept beside the image store, so a layer is read once per scanner version:
 *
 *   <store>/scan/layers/<layer hex>.bin   a layer's LayerScan (findings, entries, whiteouts, kept files)
 *   <store>/scan/images/<key hex>.bin     a whole image's result, by manifest digest and options
 *
 * Records are v8-serialized (kept files are raw bytes, and a 50 000-entry table reads back in a
 * few milliseconds where JSON takes several times that) and carry the key they were made for: a
 * record made by another scanner version, other limits or other parsers is a miss and is
 * overwritten. Writes are atomic (temp file + rename, 0600, directories 0700); a record over
 * `maxRecordBytes` is not written, and after each write the oldest records go until the
 * directory is under `maxTotalBytes`. An unreadable record is a miss, never an error.
 */

export interface ScanCacheOptions {
  maxRecordBytes?: number;
  maxTotalBytes?: number;
}

const FORMAT = 1;

interface Envelope<T> {
  format: number;
  key: string;
  value: T;
}

export class ScanCache {
  readonly dir: string;
  private readonly maxRecordBytes: number;
  private readonly maxTotalBytes: number;

  constructor(storeRoot: string, opts: ScanCacheOptions = {}) {
    this.dir = path.join(storeRoot, 'scan');
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULTS.cache.maxRecordBytes;
    this.maxTotalBytes = opts.maxTotalBytes ?? DEFAULTS.cache.maxTotalBytes;
  }

  layerFile(digest: string): string {
    return path.join(this.dir, 'layers', `${digestHex(digest)}.bin`);
  }

  imageFile(key: string): string {
    return path.join(this.dir, 'images', `${digestHex(sha256Digest(key))}.bin`);
  }

  async getLayer(digest: string, key: string): Promise<LayerScan | undefined> {
    const scan = await this.read<LayerScan>(this.layerFile(digest), key);
    return scan?.digest === digest ? scan : undefined;
  }

  async putLayer(scan: LayerScan, key: string): Promise<boolean> {
    return this.write(this.layerFile(scan.digest), key, scan);
  }

  async getImage<T>(key: string): Promise<T | undefined> {
    return this.read<T>(this.imageFile(key), key);
  }

  async putImage<T>(key: string, value: T): Promise<boolean> {
    return this.write(this.imageFile(key), key, value);
  }

  private async read<T>(file: string, key: string): Promise<T | undefined> {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(file);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const env = deserialize(buf) as Envelope<T>;
      if (env?.format !== FORMAT || env.key !== key) return undefined;
      return env.value;
    } catch {
      await fsp.rm(file, { force: true });
      return undefined;
    }
  }

  private async write<T>(file: string, key: string, value: T): Promise<boolean> {
    const bytes = serialize({ format: FORMAT, key, value } satisfies Envelope<T>);
    if (bytes.length > this.maxRecordBytes) return false;
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, bytes, 0o600);
    await this.trim();
    return true;
  }

  /** Delete the oldest records (by modification time) until the cache fits its budget. */
  private async trim(): Promise<void> {
    const files: { file: string; size: number; mtime: number }[] = [];
    for (const sub of ['layers', 'images']) {
      const d = path.join(this.dir, sub);
      const names = await fsp.readdir(d).catch(() => [] as string[]);
      for (const n of names) {
        // Dot files are other writers' temp files, renamed into place when complete.
        if (n.startsWith('.')) continue;
        const st = await fsp.stat(path.join(d, n)).catch(() => undefined);
        if (st?.isFile()) files.push({ file: path.join(d, n), size: st.size, mtime: st.mtimeMs });
      }
    }
    let total = files.reduce((n, f) => n + f.size, 0);
    if (total <= this.maxTotalBytes) return;
    files.sort((a, b) => a.mtime - b.mtime);
    for (const f of files) {
      if (total <= this.maxTotalBytes) break;
      await fsp.rm(f.file, { force: true });
      total -= f.size;
    }
  }
}
