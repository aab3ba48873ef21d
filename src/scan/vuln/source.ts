/**
 * Reading a database source, record file by record file, with its content hash: a directory tree
 * of .json files (regular files only; symlinks are not followed), a zip, or a tar (gzipped or not).
 * Every read is bounded by VulnDbLimits; a record over maxRecordBytes is handed on as `undefined`
 * (skipped, counted), more records or bytes than allowed refuse the whole source.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { VulnError } from './errors.js';
import { fileSource, zipEntriesAt, zipReadAt } from '../zip.js';

export type SourceKind = 'dir' | 'zip' | 'tar';

export interface VulnDbLimits {
  /** Largest single record file, in bytes. */
  maxRecordBytes: number;
  /** Most records (files) in the source. */
  maxRecords: number;
  /** Most bytes of records read in all (uncompressed). */
  maxTotalBytes: number;
}

/** Called once per .json record file; `data` is undefined when the file is over maxRecordBytes. */
export type OnRecord = (file: string, data: Buffer | undefined) => void;

class Budget {
  private records = 0;
  private bytes = 0;
  constructor(
    private readonly src: string,
    private readonly limits: VulnDbLimits,
  ) {}
  record(): void {
    if (++this.records > this.limits.maxRecords)
      throw new VulnError('VULN_DB_TOO_LARGE', `${this.src} has more than ${this.limits.maxRecords} records`);
  }
  spend(n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxTotalBytes)
      throw new VulnError(
        'VULN_DB_TOO_LARGE',
        `${this.src} holds more than ${this.limits.maxTotalBytes} bytes`,
      );
  }
}

const isRecord = (name: string) => name.endsWith('.json') && !name.endsWith('/');

async function readDir(root: string, limits: VulnDbLimits, on: OnRecord): Promise<string> {
  const budget = new Budget(root, limits);
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const ents = await fsp.readdir(dir, { withFileTypes: true });
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of ents) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      if (!e.isFile() || !isRecord(e.name)) continue;
      const rel = path.relative(root, p);
      budget.record();
      const st = await fsp.stat(p);
      if (st.size > limits.maxRecordBytes) {
        h.update(`${rel}\0size ${st.size}\n`);
        on(rel, undefined);
        continue;
      }
      budget.spend(st.size);
      const data = await fsp.readFile(p);
      h.update(`${rel}\0${createHash('sha256').update(data).digest('hex')}\n`);
      on(rel, data.length > limits.maxRecordBytes ? undefined : data);
    }
  };
  await walk(root);
  return h.digest('hex');
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function readZip(file: string, limits: VulnDbLimits, on: OnRecord): Promise<string> {
  const budget = new Budget(file, limits);
  const fh = await fsp.open(file, 'r');
  try {
    const src = fileSource(fh, (await fh.stat()).size);
    // The directory itself is bounded: records plus as many other entries (directories, README).
    const zipLimits = { maxEntries: limits.maxRecords * 2 + 1000, maxEntryBytes: limits.maxRecordBytes };
    const entries = (await zipEntriesAt(src, zipLimits)).filter((e) => isRecord(e.name));
    for (const e of entries) {
      budget.record();
      if (e.size <= limits.maxRecordBytes) budget.spend(e.size);
    }
    for (const e of entries) {
      if (e.size > limits.maxRecordBytes) on(e.name, undefined);
      else on(e.name, await zipReadAt(src, e, zipLimits));
    }
  } finally {
    await fh.close();
  }
  return sha256File(file);
}

async function readTar(file: string, limits: VulnDbLimits, on: OnRecord): Promise<string> {
  const budget = new Budget(file, limits);
  const h = createHash('sha256');
  const head = Buffer.alloc(2);
  const fh = await fsp.open(file, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  const ex = tarExtract();
  const done = pipeline(createReadStream(file), tap, gz ? createGunzip() : new PassThrough(), ex);
  try {
    for await (const entry of ex) {
      const { name, type, size = 0 } = entry.header;
      // Every entry's content counts, read or not: a gzip bomb of skipped entries is still a bomb.
      budget.spend(size);
      if (type !== 'file' || !isRecord(name)) {
        entry.resume();
        continue;
      }
      budget.record();
      if (size > limits.maxRecordBytes) {
        entry.resume();
        on(name, undefined);
        continue;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of entry) {
        n += (c as Buffer).length;
        if (n > limits.maxRecordBytes)
          throw new VulnError('VULN_DB_UNREADABLE', `${name}: longer than its header says`);
        chunks.push(c as Buffer);
      }
      on(name, Buffer.concat(chunks));
    }
    await done;
  } catch (e) {
    ex.destroy();
    await done.catch(() => undefined);
    throw e;
  }
  return h.digest('hex');
}

/** Hand every record file of the source to `on`; the source's content hash (hex). */
export async function readSource(
  real: string,
  kind: SourceKind,
  limits: VulnDbLimits,
  on: OnRecord,
): Promise<{ hash: string }> {
  const hash =
    kind === 'dir'
      ? await readDir(real, limits, on)
      : kind === 'zip'
        ? await readZip(real, limits, on)
        : await readTar(real, limits, on);
  return { hash };
}
