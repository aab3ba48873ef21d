import { ImageError, type ImageErrorCode } from './errors.js';

/** Linux limits; a longer name cannot be created anyway, so refuse it before touching the disk. */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/**
 * Split a tar name (entry name or hardlink target) into clean components, refusing anything that
 * could address a path outside the rootfs. Leading `./`, `.` components and repeated or trailing
 * slashes are dropped, as tar does; an empty result is the rootfs itself.
 *
 * Absolute names are refused rather than stripped: OCI layers never contain them, so one is a sign
 * of a hand-made (hostile) tar.
 */
export function entryComponents(
  name: string,
  code: ImageErrorCode = 'IMAGE_UNSAFE_PATH',
  what = 'entry',
): string[] {
  checkString(name, code, what);
  if (name.startsWith('/')) {
    throw new ImageError(code, `refusing ${what} with an absolute path: ${quote(name)}`, {
      details: { name },
    });
  }
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      throw new ImageError(code, `refusing ${what} with a '..' component: ${quote(name)}`, {
        details: { name },
      });
    }
    if (Buffer.byteLength(c) > NAME_MAX) {
      throw new ImageError(code, `refusing ${what}: a component is longer than ${NAME_MAX} bytes`, {
        details: { name: name.slice(0, 300) },
      });
    }
    parts.push(c);
  }
  return parts;
}

/** Validate a symlink target's form (not where it points: see {@link symlinkEscapes}). */
export function checkLinkTarget(target: string | null | undefined, what: string): string {
  if (typeof target !== 'string' || target === '') {
    throw new ImageError('IMAGE_UNSAFE_LINK', `${what} has an empty link target`);
  }
  checkString(target, 'IMAGE_UNSAFE_LINK', `${what} link target`);
  return target;
}

/**
 * Does a relative symlink target climb above the rootfs, lexically, from the directory `parent`
 * (components relative to the rootfs)? Absolute targets never escape: inside the container they
 * resolve against the container's root, and moat's own resolver does the same.
 */
export function symlinkEscapes(parent: readonly string[], target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = parent.length;
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (--depth < 0) return true;
    } else {
      depth++;
    }
  }
  return false;
}

function checkString(s: string, code: ImageErrorCode, what: string): void {
  if (s.includes('\0')) {
    throw new ImageError(code, `refusing ${what} containing a NUL byte`, { details: { name: quote(s) } });
  }
  if (Buffer.byteLength(s) > PATH_MAX) {
    throw new ImageError(code, `refusing ${what} longer than ${PATH_MAX} bytes`, {
      details: { name: s.slice(0, 300) + '…' },
    });
  }
}

/** For messages: JSON quoting keeps control characters from a hostile name off the terminal. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 300 ? s.slice(0, 300) + '…' : s);
}
