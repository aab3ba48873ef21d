/**
 * Loading the bundled CLI (dist/bundle/cli.cjs and its chunks, CommonJS) with V8's code cache.
 *
 * Why: compiling moat's own code was the largest single cost of every command (~40 ms of CPU of a
 * `moat run`, 45 of `moat ps`, measured with --cpu-prof), and Node 20 keeps no compiled code
 * between runs (Node 22's module.enableCompileCache does, but not on 20). V8 can: a script
 * compiled with `cachedData` skips parsing and compiling what the cache holds. The chunks are
 * CommonJS for this (scripts/bundle.mjs): vm.Script takes a cache, an ES module does not on 20.
 *
 * The cache is code, so it is trusted only where nobody else could have written it:
 *   - its directory ($XDG_CACHE_HOME/moat/code-cache/NODE-VERSION-ARCH, else ~/.cache/...) is
 *     created 0700, only below a directory of this user's (root given another user's HOME
 *     creates nothing there), and used only when it is a real directory owned by this user and
 *     writable by nobody else (not a symlink);
 *   - an entry is read only when it is a regular file (opened O_NOFOLLOW) owned by this user,
 *     writable by nobody else, with one link, and at most MAX_ENTRY_BYTES;
 *   - an entry is named by the sha256 of the source it was made from (and Node's version): a
 *     changed chunk never meets an old entry. V8 itself refuses data from another V8 version or
 *     other flags (`cachedDataRejected`); such an entry is written again.
 * Anything unusable is ignored: the code is compiled from source, as without a cache. Entries are
 * written once, when the process exits (so they hold what this command compiled lazily too),
 * through a temporary file renamed into place. MOAT_CODE_CACHE=off turns the cache off.
 *
 * It imports only node: modules, on purpose: it runs before the bundle on every command, where
 * each further module costs Node's loader. So it keeps its own small checks instead of
 * util/paths.ts's privateDir (module-private, and paths.ts brings two rooms' error tables) or the
 * bounded readers of trust/policy/load.ts and oci/spec.ts (which follow symlinks or throw their
 * room's errors, and check no owner or link count).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import * as path from 'node:path';
import vm from 'node:vm';

/** Larger entries are not read (V8's cache of all of moat's chunks is ~2-3 MB). */
export const MAX_ENTRY_BYTES = 64 << 20;
/** More entries than this in a directory: the oldest are removed when one is written. */
export const MAX_ENTRIES = 512;

export interface CodeCacheStats {
  /** Scripts compiled with an entry V8 accepted. */
  hits: number;
  /** Scripts compiled without one (none yet, or an entry that was not trusted). */
  misses: number;
  /** Entries V8 refused (another V8 version or flags, or damaged data). */
  rejected: number;
  /** Entries present but not trusted (owner, mode, links, type or size). */
  untrusted: number;
  /** Entries written by flush(). */
  written: number;
}

export interface BundleLoader {
  /** Run the entry file (CommonJS) and return its exports. */
  load(file: string): unknown;
  /** Write the entries this process made (also done when the process exits). */
  flush(): void;
  readonly stats: CodeCacheStats;
  /** The directory in use, or undefined when the cache is off or not trusted. */
  readonly dir: string | undefined;
}

const euid = (): number => process.geteuid?.() ?? 0;

/** Private to this user: owned by them, writable by nobody else. */
function privateTo(st: { uid: number; mode: number }, uid: number): boolean {
  return st.uid === uid && (st.mode & 0o022) === 0;
}

/** The cache directory for this Node, or undefined (off, or not a place to trust). */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MOAT_CODE_CACHE === 'off') return undefined;
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  const home = env.HOME || homedir();
  if (!xdg && !path.isAbsolute(home)) return undefined;
  return path.join(
    xdg ?? path.join(home, '.cache'),
    'moat',
    'code-cache',
    `${process.version}-${process.arch}`,
  );
}

/** S_ISVTX: in a sticky directory only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

/** The nearest directory at or above `dir` that exists (lstat). */
function nearestExisting(dir: string): { uid: number; mode: number; isDirectory: boolean } {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const st = lstatSync(d);
      return { uid: st.uid, mode: st.mode, isDirectory: st.isDirectory() };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || d === path.dirname(d)) throw e;
    }
  }
}

/**
 * Create the directory if need be; undefined unless it (and moat/code-cache above it) is private.
 * Nothing is created under a directory of another user's (root with another user's HOME or
 * XDG_CACHE_HOME, as `sudo -E` leaves them): the nearest existing directory must be this user's,
 * or sticky like /tmp (where nobody else can rename or remove what this user creates).
 */
function usableDir(dir: string): string | undefined {
  try {
    const uid = euid();
    const top = nearestExisting(dir);
    if (!top.isDirectory || (top.uid !== uid && (top.mode & STICKY) === 0)) return undefined;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const d of [dir, path.dirname(dir)]) {
      const st = lstatSync(d);
      if (!st.isDirectory() || !privateTo(st, uid)) return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** The entry's bytes if it can be trusted; 'absent' or 'untrusted' otherwise. */
function readEntry(file: string): Buffer | 'absent' | 'untrusted' {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'untrusted';
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !privateTo(st, euid()) || st.nlink !== 1 || st.size > MAX_ENTRY_BYTES)
      return 'untrusted';
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    return n === st.size ? buf : 'untrusted';
  } catch {
    return 'untrusted';
  } finally {
    closeSync(fd);
  }
}

/** Temporary files older than this are left by a process killed while writing: removed. */
const STALE_TMP_MS = 60 * 60 * 1000;

/**
 * Remove the oldest entries when there are too many (old builds' chunks), and temporary files a
 * killed writer left. Runs only after this process wrote entries.
 */
function prune(dir: string): void {
  const aged: { n: string; t: number }[] = [];
  for (const n of readdirSync(dir)) {
    let t = 0;
    try {
      t = statSync(path.join(dir, n)).mtimeMs;
    } catch {
      /* gone meanwhile: oldest */
    }
    if (n.endsWith('.bin')) aged.push({ n, t });
    else if (n.endsWith('.tmp') && Date.now() - t > STALE_TMP_MS) rmSync(path.join(dir, n), { force: true });
  }
  if (aged.length <= MAX_ENTRIES) return;
  aged.sort((a, b) => a.t - b.t);
  for (const { n } of aged.slice(0, aged.length - MAX_ENTRIES / 2))
    rmSync(path.join(dir, n), { force: true });
}

/**
 * A loader of CommonJS files with V8's code cache in `cacheDir` (none: compile from source).
 * Relative requires (`./chunk-….cjs`) load through it; anything else is Node's require, from the
 * requiring file's directory. A module is cached before it runs, so cycles work as in Node.
 */
export function createBundleLoader(
  cacheDir: string | undefined,
  opts: { onExit?: boolean } = {},
): BundleLoader {
  const dir = cacheDir === undefined ? undefined : usableDir(cacheDir);
  const stats: CodeCacheStats = { hits: 0, misses: 0, rejected: 0, untrusted: 0, written: 0 };
  const modules = new Map<string, { exports: unknown }>();
  const pending: { script: vm.Script; entry: string }[] = [];
  const tag = `${process.version}\0${process.arch}\0`;

  function compile(file: string, source: string): vm.Script {
    const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
    const entry =
      dir && path.join(dir, `${createHash('sha256').update(tag).update(source).digest('hex')}.bin`);
    const data = entry ? readEntry(entry) : 'absent';
    if (data === 'untrusted') stats.untrusted++;
    const cachedData = Buffer.isBuffer(data) ? data : undefined;
    const script = new vm.Script(wrapped, { filename: file, cachedData });
    if (cachedData && !script.cachedDataRejected) stats.hits++;
    else {
      if (cachedData) stats.rejected++;
      else stats.misses++;
      // An untrusted entry is left alone (it is not ours to replace); others are (re)written.
      if (entry && data !== 'untrusted') pending.push({ script, entry });
    }
    return script;
  }

  function load(file: string): unknown {
    const known = modules.get(file);
    if (known) return known.exports;
    const module = { exports: {} as unknown };
    modules.set(file, module);
    const source = readFileSync(file, 'utf8');
    const here = path.dirname(file);
    const nodeRequire = createRequire(file);
    const require = (id: string): unknown =>
      id.startsWith('./') || id.startsWith('../') ? load(path.resolve(here, id)) : nodeRequire(id);
    const fn = compile(file, source).runInThisContext() as (...args: unknown[]) => void;
    fn(module.exports, require, module, file, here);
    return module.exports;
  }

  function flush(): void {
    if (!dir || pending.length === 0) return;
    for (const { script, entry } of pending.splice(0)) {
      const tmp = path.join(dir, `.${path.basename(entry)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        renameSync(tmp, entry);
        stats.written++;
      } catch {
        rmSync(tmp, { force: true });
      }
    }
    try {
      prune(dir);
    } catch {
      /* a cache that cannot be pruned only grows */
    }
  }

  if (opts.onExit !== false) process.once('exit', flush);
  return { load, flush, stats, dir };
}
