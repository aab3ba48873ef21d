/**
 * Writing a container's files as a tar (cp out, export, the layer of a commit), read through
 * descriptors below a root (root.ts): directories opened with O_NOFOLLOW, files opened with
 * O_NOFOLLOW|O_NONBLOCK and checked with fstat before a byte is read, so a symlink is archived as
 * a symlink and never followed, and a fifo never blocks. Owners are the container's (ids.ts).
 * A file that changes size while it is read (a running container) keeps the size its header
 * announced: cut, or padded with zeros.
 */
import {
  closeSync,
  constants as C,
  fstatSync,
  openSync,
  read,
  readdirSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { promisify } from 'node:util';
import * as tar from 'tar-stream';
import { at, lstatAt, openDirAt } from './root.js';
import type { Ids } from './ids.js';

const readAsync = promisify(read);
const OPEN_FILE = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const CHUNK = 1 << 20;

export interface PackOptions {
  ids: Ids;
  /** Do not descend into directories of another filesystem than the first one (`tar --one-file-system`). */
  oneFileSystem?: boolean;
}

type Header = Partial<tar.Header> & Pick<tar.Header, 'name'>;

/** The tar type of what lstat found (undefined: not archived, a socket). */
export function entryType(st: Stats): tar.Header['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

export class Archive {
  readonly pack = tar.pack();
  /** dev:ino of files with more than one link → the name they were first archived under. */
  private readonly links = new Map<string, string>();
  private rootDev?: number;
  /** Entries not archived (sockets), by name. */
  readonly skipped: string[] = [];

  constructor(private readonly o: PackOptions) {}

  header(st: Stats, name: string, type: tar.Header['type']): Header {
    const owner = this.o.ids.toContainer(st.uid, st.gid);
    return {
      name,
      type,
      // The whole st_mode: tar-stream replaces a mode of 0 by 0644 (a 000 /etc/shadow would
      // come out readable); it writes only the permission bits.
      mode: st.mode,
      uid: owner.uid,
      gid: owner.gid,
      mtime: st.mtime,
      size: 0,
      ...(type === 'character-device' || type === 'block-device'
        ? {
            devmajor: Math.floor(st.rdev / 256) & 0xfff,
            devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
          }
        : {}),
    };
  }

  /** Add an entry with no content (a directory, a symlink, a whiteout file). */
  async empty(h: Header): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (h.type === 'file') this.pack.entry({ ...h, size: 0 }, Buffer.alloc(0), done);
      else this.pack.entry(h, done);
    });
  }

  /**
   * Archive `name` in the directory open as `dir` ('' : that directory) as `entry`, and
   * everything below it. `filter` may leave out names (relative to the tree's top).
   */
  async tree(dir: number, name: string, entry: string, st?: Stats | null): Promise<void> {
    const s = st ?? (name === '' ? fstatSync(dir) : lstatAt(dir, name));
    if (!s) return;
    if (this.rootDev === undefined) this.rootDev = s.dev;
    const type = entryType(s);
    if (!type) {
      this.skipped.push(entry);
      return;
    }
    if (type === 'directory') return this.directory(dir, name, entry);
    if (type !== 'symlink' && s.nlink > 1) {
      const key = `${s.dev}:${s.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) return this.empty({ ...this.header(s, entry, 'link'), linkname: first });
      this.links.set(key, entry);
    }
    if (type === 'file') return this.file(dir, name, entry);
    if (type === 'symlink')
      return this.empty({ ...this.header(s, entry, 'symlink'), linkname: readlinkSync(at(dir, name)) });
    return this.empty(this.header(s, entry, type));
  }

  private async directory(dir: number, name: string, entry: string): Promise<void> {
    const fd = name === '' ? openSync(at(dir), C.O_RDONLY | C.O_DIRECTORY) : openDirAt(dir, name);
    try {
      const st = fstatSync(fd);
      await this.empty(this.header(st, entry, 'directory'));
      if (this.o.oneFileSystem && st.dev !== this.rootDev) return;
      const names = readdirSync(at(fd)).sort();
      for (const n of names) await this.tree(fd, n, entry === '' || entry === '.' ? n : `${entry}/${n}`);
    } finally {
      closeSync(fd);
    }
  }

  private async file(dir: number, name: string, entry: string): Promise<void> {
    const fd = openSync(at(dir, name), OPEN_FILE);
    try {
      const st = fstatSync(fd);
      // Replaced since the lstat (a running container): archive what is there now, if a file.
      if (!st.isFile()) {
        this.skipped.push(entry);
        return;
      }
      const h = { ...this.header(st, entry, 'file'), size: st.size };
      await new Promise<void>((resolve, reject) => {
        const w = this.pack.entry(h, (err) => (err ? reject(err) : resolve()));
        copyFd(fd, st.size, w).catch((e: unknown) => {
          w.destroy(e as Error);
          reject(e as Error);
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  finalize(): void {
    this.pack.finalize();
  }
}

/** What an entry's body is written to (tar-stream's sink, a streamx Writable). */
interface Sink {
  write(b: Buffer): boolean;
  end(data?: unknown): unknown;
  once(ev: 'drain', f: () => void): unknown;
}

/** Write exactly `size` bytes of `fd` to `w` (zeros past a shrunken end), then end it. */
async function copyFd(fd: number, size: number, w: Sink): Promise<void> {
  let left = size;
  let pos = 0;
  while (left > 0) {
    const buf = Buffer.alloc(Math.min(CHUNK, left));
    const { bytesRead } = await readAsync(fd, buf, 0, buf.length, pos);
    // Shrunk while read: the header said `size`, so the rest is zeros.
    const n = bytesRead === 0 ? buf.length : bytesRead;
    pos += n;
    left -= n;
    if (!w.write(bytesRead === 0 ? buf : buf.subarray(0, n)))
      await new Promise<void>((resolve) => w.once('drain', resolve));
  }
  w.end();
}
