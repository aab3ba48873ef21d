import type { Package } from '../types.js';
import { extractMagic, failSoft, type PackageParser, type ParseContext } from './parser.js';
import { purl } from './purl.js';
import { isZip, zipEntries, zipRead, ZIP_DEFAULTS, type ZipEntry, type ZipLimits } from '../zip.js';

/**
 * Java: Maven coordinates from `META-INF/maven/<groupId>/<artifactId>/pom.properties` inside
 * jars, wars and ears (zip files), including the libraries nested in them (Spring Boot's
 * `BOOT-INF/lib/*.jar`, a war's `WEB-INF/lib/*.jar`) down to `MAX_DEPTH`. Shaded jars carry one
 * pom.properties per library they absorbed, and each is listed. The package name is
 * `groupId:artifactId`, as OSV's Maven records name it; `path` is the archive, with `!/` before each
 * nested archive. Bounds: entries per archive, bytes per entry, nested archives and total bytes
 * inflated per top-level file.
 */

const ARCHIVE = /\.(?:jar|war|ear|par|sar|hpi|jpi|kar)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/([^/]+)\/([^/]+)\/pom\.properties$/;
const MAX_DEPTH = 2;
const MAX_NESTED = 2_000;
const MAX_TOTAL_INFLATED = 1024 * 1024 * 1024;
const MAX_PROPERTIES = 1024 * 1024;

export function wantsJavaArchive(path: string): boolean {
  return ARCHIVE.test(path);
}

/** java.util.Properties' format: `key=value`, `key: value` or `key value`, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/^[ \t\f]+/, '');
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i].replace(/^[ \t\f]+/, '');
    }
    const m = /^((?:\\.|[^=:\s\\])*)\s*[=:\s]?\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = unescape(m[1]);
    if (!out.has(key)) out.set(key, unescape(m[2]).trim());
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'f' ? '\f' : c;
  });
}

interface Budget {
  inflated: number;
  nested: number;
}

/** One entry's bytes, or undefined (and a note) when it cannot be read: the other entries still count. */
function readEntry(
  buf: Buffer,
  e: ZipEntry,
  path: string,
  ctx: ParseContext,
  limits: ZipLimits,
): Buffer | undefined {
  // Methods other than stored and deflate are passed over without a note, as they always were.
  if (e.method !== 0 && e.method !== 8) return undefined;
  try {
    return zipRead(buf, e, limits);
  } catch (err) {
    ctx.notes?.push(`java: ${path}!/${e.name}: not readable (${(err as Error).message})`);
    return undefined;
  }
}

function collect(
  buf: Buffer,
  path: string,
  ctx: ParseContext,
  depth: number,
  budget: Budget,
  out: Package[],
): void {
  const limits: ZipLimits = ZIP_DEFAULTS;
  for (const e of zipEntries(buf, limits)) {
    const pom = POM_PROPERTIES.exec(e.name);
    if (pom) {
      if (e.size > MAX_PROPERTIES) continue;
      const data = readEntry(buf, e, path, ctx, limits);
      if (!data) continue;
      budget.inflated += data.length;
      const props = parseProperties(data.toString('utf8'));
      const groupId = props.get('groupId') || pom[1];
      const artifactId = props.get('artifactId') || pom[2];
      const version = props.get('version');
      if (!version) continue;
      out.push(mavenPackage(`${groupId}:${artifactId}`, version, path, ctx));
      continue;
    }
    if (depth < MAX_DEPTH && ARCHIVE.test(e.name) && e.size > 0) {
      if (++budget.nested > MAX_NESTED || budget.inflated + e.size > MAX_TOTAL_INFLATED) {
        ctx.notes?.push(`java: ${path}: nested archives beyond the limits are not read (from ${e.name})`);
        return;
      }
      const inner = readEntry(buf, e, path, ctx, limits);
      if (!inner || !isZip(inner)) continue;
      budget.inflated += inner.length;
      try {
        collect(inner, `${path}!/${e.name}`, ctx, depth + 1, budget, out);
      } catch (err) {
        ctx.notes?.push(`java: ${path}!/${e.name}: not readable (${(err as Error).message})`);
      }
    }
  }
}

const EXTRACTED = extractMagic('java');
const EXTRACT_PATH = '\0';

/** The coordinates alone (JSON after a marker), what the walker keeps of an archive. */
export function extractJavaArchive(content: Buffer): Buffer | undefined {
  const pkgs = parseJavaArchive(content, EXTRACT_PATH, { layer: '' });
  if (pkgs.length === 0) return undefined;
  const rows = pkgs.map((p) => [p.name, p.version, p.path.slice(EXTRACT_PATH.length)]);
  return Buffer.concat([EXTRACTED, Buffer.from(JSON.stringify(rows))]);
}

function mavenPackage(name: string, version: string, path: string, ctx: ParseContext): Package {
  const colon = name.indexOf(':');
  return {
    ecosystem: 'maven',
    name,
    version,
    purl: purl({ type: 'maven', namespace: name.slice(0, colon), name: name.slice(colon + 1), version }),
    layer: ctx.layer,
    path,
  };
}

export function parseJavaArchive(content: Buffer, path: string, ctx: ParseContext): Package[] {
  if (content.subarray(0, EXTRACTED.length).equals(EXTRACTED)) {
    const rows: unknown = JSON.parse(content.toString('utf8', EXTRACTED.length));
    if (!Array.isArray(rows)) return [];
    return rows
      .filter(
        (r): r is [string, string, string] =>
          Array.isArray(r) && r.length === 3 && r.every((x) => typeof x === 'string') && r[0].includes(':'),
      )
      .map(([name, version, nested]) => mavenPackage(name, version, path + nested, ctx));
  }
  if (!isZip(content)) return [];
  const out: Package[] = [];
  collect(content, path, ctx, 0, { inflated: 0, nested: 0 }, out);
  return out;
}

export const javaParser: PackageParser = failSoft({
  name: 'java',
  wants: wantsJavaArchive,
  maxBytes: 512 * 1024 * 1024,
  sniff: { bytes: 4, test: isZip },
  extract: extractJavaArchive,
  parse: parseJavaArchive,
});
