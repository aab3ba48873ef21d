/** Builders for the unpack tests: tars made in memory with tar-stream, and a sandboxed rootfs. */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

export type Entry = Partial<Header> & { name: string; body?: string | Buffer; pax?: Record<string, string> };

export const file = (name: string, body: string | Buffer = '', extra: Partial<Entry> = {}): Entry => ({
  name,
  type: 'file',
  body,
  ...extra,
});
export const dir = (name: string, extra: Partial<Entry> = {}): Entry => ({
  name,
  type: 'directory',
  ...extra,
});
export const symlink = (name: string, linkname: string): Entry => ({ name, type: 'symlink', linkname });
export const hardlink = (name: string, linkname: string): Entry => ({ name, type: 'link', linkname });

export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => {
      const header = { mtime: new Date(1_600_000_000_000), ...h };
      if (body !== undefined && (h.type ?? 'file') === 'file')
        p.entry(header, body, (e) => (e ? reject(e) : resolve()));
      else p.entry(header, (e) => (e ? reject(e) : resolve())).end(undefined);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Rewrite the typeflag of the header block at `offset` (and fix its checksum). */
export function setTypeflag(tar: Buffer, offset: number, flag: string): Buffer {
  const out = Buffer.from(tar);
  out[offset + 156] = flag.charCodeAt(0);
  out.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += out[offset + i];
  out.write(sum.toString(8).padStart(6, '0') + '\0 ', offset + 148, 'latin1');
  return out;
}

export const streamOf = (buf: Buffer): Readable => Readable.from([buf]);
export const gz = (buf: Buffer): Buffer => gzipSync(buf);

export interface Sandbox {
  /** Temp dir holding the rootfs and the "host" around it. */
  dir: string;
  rootfs: string;
  /** A host directory beside the rootfs that hostile entries aim at. */
  outside: string;
  /** Everything under `dir` except the rootfs: must not change. */
  hostView(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function sandbox(): Promise<Sandbox> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-unpack-'));
  const rootfs = path.join(dir, 'rootfs');
  const outside = path.join(dir, 'outside');
  await fsp.mkdir(rootfs);
  await fsp.mkdir(outside);
  await fsp.writeFile(path.join(outside, 'victim'), 'original');
  await fsp.writeFile(path.join(dir, 'x'), 'original');
  const hostView = async (): Promise<string[]> => {
    const out: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await fsp.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (p === rootfs) continue;
        const st = await fsp.lstat(p);
        out.push(
          `${path.relative(dir, p)} ${st.mode.toString(8)} ${st.size} ${e.isFile() ? await fsp.readFile(p, 'utf8') : ''}`,
        );
        if (e.isDirectory()) await walk(p);
      }
    };
    await walk(dir);
    return out.sort();
  };
  return { dir, rootfs, outside, hostView, cleanup: () => removeTree(dir) };
}

/** rm -rf that also works without root when a test left read-only directories behind. */
async function removeTree(dir: string): Promise<void> {
  const unlock = async (d: string): Promise<void> => {
    await fsp.chmod(d, 0o700);
    for (const e of await fsp.readdir(d, { withFileTypes: true }))
      if (e.isDirectory()) await unlock(path.join(d, e.name));
  };
  await unlock(dir).catch(() => {});
  await fsp.rm(dir, { recursive: true, force: true });
}
