/**
 * The vulnerability database: OSV records from a directory of .json files, a .zip (what osv.dev
 * exports per ecosystem) or a .tar / .tar.gz of them, indexed once into a cache so later scans read
 * one file instead of the source:
 *
 *   <cache>/vulndb/<fingerprint>/index.json   (fingerprint: the source's real path, kind, sizes, mtimes)
 *
 * The index holds the compact records and, per OSV ecosystem and package name, which records name
 * that package. The database's `version` is the SHA-256 of the source's content (the same export
 * has the same version on every host), its age the newest `modified` of its records. Reading is
 * bounded (record size, record count, total bytes); a record that is not OSV JSON, or too large, is
 * skipped and counted in `skipped` — the database itself is refused only when it cannot be read
 * at all or is over the bounds.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { errnoCode } from '../../errors.js';
import { VulnError } from './errors.js';
import { indexKey, OsvParseError, parseOsv, type OsvRecord } from './osv.js';
import { readSource, type SourceKind, type VulnDbLimits } from './source.js';

export type { VulnDbLimits };

export const DB_DEFAULTS: { limits: VulnDbLimits; cacheFormat: number; skippedKept: number } = {
  limits: { maxRecordBytes: 8 << 20, maxRecords: 1_000_000, maxTotalBytes: 4 * 1024 ** 3 },
  /** Bumped when the index's shape changes: an older index is rebuilt, never misread. */
  cacheFormat: 1,
  /** How many skipped files the database names (all are counted). */
  skippedKept: 20,
};

export interface LoadOptions {
  /** Where indexes are kept; `$XDG_CACHE_HOME/moat` (or `~/.cache/moat`) by default. */
  cacheDir?: string;
  limits?: Partial<VulnDbLimits>;
  env?: NodeJS.ProcessEnv;
}

export interface VulnDb {
  /** `sha256:<hex>` of the source's content. */
  version: string;
  /** The newest `modified` among the records (ISO 8601); undefined when there are none. */
  modified?: string;
  source: string;
  kind: SourceKind | 'memory';
  records: number;
  /** Files skipped (not OSV JSON, too large, withdrawn records are not counted here). */
  skipped: number;
  skippedFiles: { file: string; reason: string }[];
  /** True when this load read the cached index, not the source. */
  fromCache: boolean;
  /** The records filed under an OSV ecosystem (`Debian:12`, `npm`...) and package name. */
  lookup(ecosystem: string, name: string): OsvRecord[];
}

interface IndexFile {
  format: number;
  source: string;
  kind: SourceKind;
  version: string;
  modified?: string;
  skipped: number;
  skippedFiles: { file: string; reason: string }[];
  records: OsvRecord[];
  /** indexKey → positions in records. */
  index: Record<string, number[]>;
}

/** Days between the database's newest record and `now` (what the policy's max_db_age_days reads). */
export function dbAgeDays(db: Pick<VulnDb, 'modified'>, now: Date = new Date()): number | undefined {
  const t = db.modified ? Date.parse(db.modified) : NaN;
  return Number.isNaN(t) ? undefined : Math.max(0, (now.getTime() - t) / 86_400_000);
}

function buildIndex(records: OsvRecord[]): Record<string, number[]> {
  const index: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  records.forEach((r, i) => {
    for (const k of new Set(r.affected.map((a) => indexKey(a.ecosystem, a.name)))) (index[k] ??= []).push(i);
  });
  return index;
}

function makeDb(f: Omit<IndexFile, 'format'> | IndexFile, fromCache: boolean, kind?: 'memory'): VulnDb {
  const index = new Map(Object.entries(f.index));
  return {
    version: f.version,
    ...(f.modified ? { modified: f.modified } : {}),
    source: f.source,
    kind: kind ?? f.kind,
    records: f.records.length,
    skipped: f.skipped,
    skippedFiles: f.skippedFiles,
    fromCache,
    lookup: (ecosystem, name) => (index.get(indexKey(ecosystem, name)) ?? []).map((i) => f.records[i]),
  };
}

/** Keep one record per id (the latest modified), drop withdrawn ones, in id order. */
function settle(records: OsvRecord[]): OsvRecord[] {
  const byId = new Map<string, OsvRecord>();
  for (const r of records) {
    const old = byId.get(r.id);
    if (!old || r.modified > old.modified) byId.set(r.id, r);
  }
  return [...byId.values()]
    .filter((r) => !r.withdrawn)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A database of records already in memory (tests, and callers that build records themselves). */
export function vulnDbFromRecords(records: OsvRecord[], source = 'memory'): VulnDb {
  const recs = settle(records);
  const h = createHash('sha256');
  for (const r of recs) h.update(JSON.stringify(r)).update('\n');
  const modified = recs.reduce<string | undefined>(
    (m, r) => (!m || r.modified > m ? r.modified : m),
    undefined,
  );
  return makeDb(
    {
      source,
      kind: 'dir',
      version: `sha256:${h.digest('hex')}`,
      ...(modified ? { modified } : {}),
      skipped: 0,
      skippedFiles: [],
      records: recs,
      index: buildIndex(recs),
    },
    false,
    'memory',
  );
}

function cacheRoot(opts: LoadOptions): string {
  if (opts.cacheDir) return opts.cacheDir;
  const env = opts.env ?? process.env;
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  return path.join(xdg ?? path.join(env.HOME || homedir(), '.cache'), 'moat');
}

/** The kind of source a path is, from what it is and how it starts (not only its name). */
async function kindOf(p: string): Promise<SourceKind> {
  const st = await fsp.stat(p);
  if (st.isDirectory()) return 'dir';
  if (!st.isFile()) throw new VulnError('VULN_DB_UNREADABLE', `${p} is neither a directory nor a file`);
  const fh = await fsp.open(p, 'r');
  try {
    const head = Buffer.alloc(262);
    const { bytesRead } = await fh.read(head, 0, 262, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x06054b50) return 'zip'; // an empty zip
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar';
    if (bytesRead >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  } finally {
    await fh.close();
  }
  throw new VulnError('VULN_DB_UNREADABLE', `${p} is not a directory, a zip or a tar of OSV records`);
}

/** What identifies this state of the source without reading it: names, sizes and mtimes. */
async function fingerprint(real: string, isDir: boolean): Promise<string> {
  const h = createHash('sha256').update(`${DB_DEFAULTS.cacheFormat}\n${isDir ? 'dir' : 'file'}\n${real}\n`);
  if (!isDir) {
    const st = await fsp.stat(real);
    h.update(`${st.size} ${Math.trunc(st.mtimeMs)} ${st.ino}\n`);
  } else {
    const walk = async (dir: string): Promise<void> => {
      const ents = await fsp.readdir(dir, { withFileTypes: true });
      ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of ents) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && e.name.endsWith('.json')) {
          const st = await fsp.stat(p);
          h.update(`${path.relative(real, p)}\0${st.size} ${Math.trunc(st.mtimeMs)} ${st.ino}\n`);
        }
      }
    };
    await walk(real);
  }
  return h.digest('hex').slice(0, 32);
}

async function readCache(file: string, real: string): Promise<IndexFile | undefined> {
  try {
    const f = JSON.parse(await fsp.readFile(file, 'utf8')) as IndexFile;
    return f.format === DB_DEFAULTS.cacheFormat && f.source === real && Array.isArray(f.records)
      ? f
      : undefined;
  } catch {
    return undefined; // absent or damaged: rebuilt
  }
}

async function writeCache(file: string, f: IndexFile): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(f), { mode: 0o600 });
  await fsp.rename(tmp, file);
}

/** Read and index the source: every record parsed, bounded, hashed. */
async function index(real: string, kind: SourceKind, limits: VulnDbLimits): Promise<IndexFile> {
  const records: OsvRecord[] = [];
  const skippedFiles: { file: string; reason: string }[] = [];
  let skipped = 0;
  const skip = (file: string, reason: string) => {
    skipped++;
    if (skippedFiles.length < DB_DEFAULTS.skippedKept) skippedFiles.push({ file, reason });
  };
  const { hash } = await readSource(real, kind, limits, (file, data) => {
    if (data === undefined) return skip(file, `larger than ${limits.maxRecordBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(data.toString('utf8'));
    } catch {
      return skip(file, 'not JSON');
    }
    try {
      for (const one of Array.isArray(json) ? json : [json]) records.push(parseOsv(one));
    } catch (e) {
      if (e instanceof OsvParseError) return skip(file, e.message);
      throw e;
    }
  });
  const recs = settle(records);
  const modified = recs.reduce<string | undefined>(
    (m, r) => (!m || r.modified > m ? r.modified : m),
    undefined,
  );
  return {
    format: DB_DEFAULTS.cacheFormat,
    source: real,
    kind,
    version: `sha256:${hash}`,
    ...(modified ? { modified } : {}),
    skipped,
    skippedFiles,
    records: recs,
    index: buildIndex(recs),
  };
}

/**
 * The database at `dbPath`: from its cached index when the source has not changed, else read,
 * indexed and cached. VULN_DB_NOT_CONFIGURED without a path, VULN_DB_MISSING when the path does not
 * exist, VULN_DB_UNREADABLE / VULN_DB_TOO_LARGE when it cannot be used. A cache that cannot be
 * written costs the next scan a re-read, nothing more.
 */
export async function loadVulnDb(dbPath: string | undefined, opts: LoadOptions = {}): Promise<VulnDb> {
  if (!dbPath) {
    throw new VulnError(
      'VULN_DB_NOT_CONFIGURED',
      'no vulnerability database: vulnerabilities were not checked',
    );
  }
  const limits = { ...DB_DEFAULTS.limits, ...opts.limits };
  let real: string;
  try {
    real = await fsp.realpath(dbPath);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR')
      throw new VulnError('VULN_DB_MISSING', `vulnerability database ${dbPath} does not exist`);
    throw new VulnError('VULN_DB_UNREADABLE', `vulnerability database ${dbPath}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    // The cache is looked up before the source is opened: a cached load reads only stat data.
    const isDir = (await fsp.stat(real)).isDirectory();
    const file = path.join(cacheRoot(opts), 'vulndb', await fingerprint(real, isDir), 'index.json');
    const cached = await readCache(file, real);
    if (cached) return makeDb(cached, true);
    const built = await index(real, await kindOf(real), limits);
    // A database without a single record would pass every image: that is a misconfiguration.
    if (built.records.length === 0) {
      throw new VulnError('VULN_DB_UNREADABLE', `vulnerability database ${dbPath} holds no OSV records`, {
        details: { skipped: built.skipped, skippedFiles: built.skippedFiles },
      });
    }
    await writeCache(file, built).catch(() => undefined);
    return makeDb(built, false);
  } catch (e) {
    if (e instanceof VulnError) throw e;
    throw new VulnError('VULN_DB_UNREADABLE', `vulnerability database ${dbPath}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
