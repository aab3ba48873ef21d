/**
 * What `moat load` and `moat import` read: a file the user named, opened before anything else
 * happens so that a wrong path is a clear error (not an ENOENT from deep inside a stream), or
 * stdin (`-`, docker's habit), which both read once from start to end: no temp copy is needed.
 */
import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { errnoCode } from '../errors.js';
import { ImageError } from './errors.js';

/** The name that stands for stdin, as in `docker import - NAME` and `docker load -i -`. */
export const STDIN = '-';

export interface ArchiveInput {
  stream: Readable;
  /** Bytes to expect, when known (a file; not a pipe). */
  size?: number;
  /** For messages: the path, or `stdin`. */
  label: string;
}

/** Open `file` for reading, or explain in the user's terms why it cannot be. */
export async function openArchiveFile(file: string, what = 'archive'): Promise<ArchiveInput> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw openError(e, file, what);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) {
      throw new ImageError('IMAGE_ARCHIVE_UNREADABLE', `${file} is a directory, not a tar ${what}`, {
        hint: `make a tar of it first (tar -C ${file} -cf FILE.tar .)`,
        details: { file },
      });
    }
    return { stream: fh.createReadStream(), size: st.isFile() ? st.size : undefined, label: file };
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

/** stdin of the request; only the CLI has one (the HTTP API reads paths on the service's host). */
export function stdinInput(stdin: Readable | undefined): ArchiveInput {
  if (!stdin) {
    throw new ImageError('IMAGE_ARCHIVE_UNREADABLE', 'this request has no stdin to read the archive from', {
      hint: 'give the path of the archive file',
    });
  }
  return { stream: stdin, label: 'stdin' };
}

function openError(e: unknown, file: string, what: string): unknown {
  const code = errnoCode(e);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ImageError('IMAGE_ARCHIVE_NOT_FOUND', `no such file: ${file}`, {
      hint: `check the path of the ${what}; - reads it from stdin`,
      details: { file },
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ImageError('IMAGE_ARCHIVE_UNREADABLE', `cannot read ${file}: permission denied`, {
      hint: `check the file's permissions, or pipe the ${what} in on stdin`,
      details: { file },
    });
  }
  return e;
}
