/** What a path in a container is, in docker's shape (`X-Docker-Container-Path-Stat`, `cp`). */

export interface PathStat {
  /** The base name of the path as asked for. */
  name: string;
  size: number;
  /** Go's os.FileMode bits, as docker sends them. */
  mode: number;
  /** ISO 8601. */
  mtime: string;
  /** For a symlink: the path in the container it resolves to. */
  linkTarget: string;
}

const S_IFMT = 0o170000;
const TYPE: Record<number, number> = {
  0o040000: 2 ** 31, // directory
  0o120000: 2 ** 27, // symlink
  0o010000: 2 ** 25, // fifo
  0o140000: 2 ** 24, // socket
  0o020000: 2 ** 26 + 2 ** 21, // character device
  0o060000: 2 ** 26, // block device
};

/** A Linux st_mode as Go's os.FileMode. */
export function goFileMode(mode: number): number {
  let m = (mode & 0o777) + (TYPE[mode & S_IFMT] ?? 0);
  if (mode & 0o4000) m += 2 ** 23;
  if (mode & 0o2000) m += 2 ** 22;
  if (mode & 0o1000) m += 2 ** 20;
  return m;
}

export function isDirMode(goMode: number): boolean {
  return goMode >= 2 ** 31;
}

export function isSymlinkMode(goMode: number): boolean {
  return Math.floor(goMode / 2 ** 27) % 2 === 1;
}
