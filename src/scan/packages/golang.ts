import type { Package } from '../types.js';
import { isElf, parseElf, PF_W, PF_X, PT_LOAD, readVirtual, type ElfFile } from './elf.js';
import { extractMagic, failSoft, type EntryInfo, type PackageParser, type ParseContext } from './parser.js';
import { purl } from './purl.js';

/**
 * Go binaries: the build info the linker embeds (what `go version -m` prints): the Go version,
 * the main package path, the main module and every dependency module with its version, and
 * replacements. It sits behind the 16-byte-aligned header `\xff Go buildinf:` + pointer size +
 * flags, in one of two layouts (debug/buildinfo):
 *   - Go 1.18+ (flags bit 2): the two strings follow the 32-byte header inline, each a uvarint
 *     length then bytes;
 *   - before: two pointers to Go string headers (data pointer, length) at virtual addresses,
 *     resolved through the ELF's PT_LOAD segments.
 * The module text is framed by two 16-byte sentinels, stripped as Go strips them.
 *
 * Size trade-off: `parse` needs the whole file (`maxBytes`, 128 MiB, covers nearly every real
 * binary; docker's CLI is ~40 MiB). `GoBuildInfoScanner` reads a binary as a stream in bounded
 * memory (the header and strings only) and handles the Go 1.18+ layout, which is nearly every
 * binary built since 2022; for the older layout the strings live earlier in the file than the
 * header, so the scanner says `needsWholeFile` and the walker may buffer the file and call `parse`.
 */

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER = 32;
const ALIGN = 16;
const SEARCH = 64 * 1024;
const MAX_STRING = 16 * 1024 * 1024;

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface GoBuildInfo {
  goVersion: string;
  path: string;
  main?: GoModule;
  deps: GoModule[];
  settings: [string, string][];
}

export function wantsGoBinary(path: string, entry?: EntryInfo): boolean {
  if (entry) return (entry.mode & 0o111) !== 0 && entry.size >= 64;
  return !/\.(?:txt|md|json|ya?ml|html?|css|js|ts|py|rb|sh|pem|crt|conf|xml|gz|zip|jar|png|jpe?g|svg)$/i.test(
    path,
  );
}

function uvarint(buf: Buffer, pos: number): [number, number] | undefined {
  let x = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos + i < buf.length; i++) {
    const b = buf[pos + i];
    x += (b & 0x7f) * mul;
    if (b < 0x80) return x > MAX_STRING ? undefined : [x, pos + i + 1];
    mul *= 128;
  }
  return undefined;
}

/** The two inline strings (Go 1.18+) starting at `pos`; undefined when the buffer is too short. */
function inlineStrings(buf: Buffer, pos: number): [Buffer, Buffer] | undefined {
  const v = uvarint(buf, pos);
  if (!v || v[1] + v[0] > buf.length) return undefined;
  const vers = buf.subarray(v[1], v[1] + v[0]);
  const m = uvarint(buf, v[1] + v[0]);
  if (!m || m[1] + m[0] > buf.length) return undefined;
  return [vers, buf.subarray(m[1], m[1] + m[0])];
}

/** A header that Go's reader would accept (and a plausible version string when inline). */
function plausibleHeader(buf: Buffer, at: number): boolean {
  if (at + HEADER > buf.length) return false;
  const ptr = buf[at + 14];
  const flags = buf[at + 15];
  return (ptr === 4 || ptr === 8) && flags <= 3;
}

/** The module text without its sentinels (bytes, not UTF-8: the sentinels are not valid UTF-8). */
function stripFraming(mod: Buffer): string {
  return mod.length >= 33 && mod[mod.length - 17] === 0x0a ? mod.toString('utf8', 16, mod.length - 16) : '';
}

function decoded(strings: [Buffer, Buffer]): GoBuildInfo | undefined {
  const vers = strings[0].toString('utf8');
  return vers === '' ? undefined : parseModInfo(vers, stripFraming(strings[1]));
}

/** The build info of an ELF Go binary held in memory; undefined when it is not one. */
export function readGoBuildInfo(buf: Buffer): GoBuildInfo | undefined {
  const elf = parseElf(buf);
  const at = (elf && findInData(buf, elf)) ?? findAligned(buf, 0, buf.length);
  if (at === undefined) return elf ? framedModInfo(buf) : undefined;
  const ptrSize = buf[at + 14];
  const flags = buf[at + 15];
  let strings: [Buffer, Buffer] | undefined;
  if (flags & 2) {
    strings = inlineStrings(buf, at + HEADER);
  } else if (elf) {
    const big = (flags & 1) !== 0;
    const readPtr = (b: Buffer, o: number): number =>
      ptrSize === 4
        ? big
          ? b.readUInt32BE(o)
          : b.readUInt32LE(o)
        : Number(big ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o));
    const none = Buffer.alloc(0);
    const readString = (addr: number): Buffer => {
      const hdr = readVirtual(buf, elf, addr, 2 * ptrSize);
      if (!hdr || hdr.length < 2 * ptrSize) return none;
      const len = readPtr(hdr, ptrSize);
      if (len > MAX_STRING) return none;
      const data = readVirtual(buf, elf, readPtr(hdr, 0), len);
      return data && data.length === len ? data : none;
    };
    strings = [readString(readPtr(buf, at + 16)), readString(readPtr(buf, at + 16 + ptrSize))];
  }
  return (strings && decoded(strings)) ?? (elf ? framedModInfo(buf) : undefined);
}

/** Go's own search: the `.go.buildinfo` section, else (older Go) 64 KiB of the first writable segment. */
function findInData(buf: Buffer, elf: ElfFile): number | undefined {
  const sec = elf.sections.find((s) => s.name === '.go.buildinfo' && s.size > 0);
  const seg = elf.segments.find((s) => s.type === PT_LOAD && (s.flags & (PF_X | PF_W)) === PF_W);
  const start = sec?.offset ?? seg?.offset;
  if (start === undefined || start >= buf.length) return undefined;
  const end = Math.min(buf.length, start + (sec ? sec.size : SEARCH));
  return findAligned(buf, start, end, start);
}

const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

/**
 * Beyond `go version -m`: a binary whose build info header is gone (some release pipelines drop
 * the `.go.buildinfo` section; the esbuild binary npm installs here has none) still holds the
 * module text, framed by its sentinels, as runtime.modinfo's data. The modules are read from it;
 * the Go version is unknown (''), so no stdlib package is listed.
 */
function framedModInfo(buf: Buffer): GoBuildInfo | undefined {
  const start = buf.indexOf(INFO_START);
  if (start < 0) return undefined;
  const end = buf.indexOf(INFO_END, start + INFO_START.length);
  if (end < 0 || end - start > MAX_STRING || buf[end - 1] !== 0x0a) return undefined;
  const info = parseModInfo('', buf.toString('utf8', start + INFO_START.length, end));
  return info.path ? info : undefined;
}

function findAligned(buf: Buffer, from: number, to: number, base = 0): number | undefined {
  let i = from;
  while (i < to) {
    const hit = buf.indexOf(MAGIC, i);
    if (hit < 0 || hit + HEADER > to) return undefined;
    if ((hit - base) % ALIGN === 0 && plausibleHeader(buf, hit)) return hit;
    i = hit + 1;
  }
  return undefined;
}

/** The module text (`path`, `mod`, `dep`, `=>`, `build` lines) as runtime/debug.ParseBuildInfo reads it. */
export function parseModInfo(goVersion: string, mod: string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, path: '', deps: [], settings: [] };
  let last: GoModule | undefined;
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'path':
        info.path = f[1] ?? '';
        break;
      case 'mod':
      case 'dep': {
        const m: GoModule = { path: f[1] ?? '', version: f[2] ?? '' };
        if (f[3]) m.sum = f[3];
        if (!m.path) break;
        if (f[0] === 'mod') info.main = m;
        else info.deps.push(m);
        last = m;
        break;
      }
      case '=>':
        if (last && f[1]) last.replace = { path: f[1], version: f[2] ?? '', ...(f[3] ? { sum: f[3] } : {}) };
        break;
      case 'build': {
        const eq = (f[1] ?? '').indexOf('=');
        if (eq > 0) info.settings.push([f[1].slice(0, eq), f[1].slice(eq + 1)]);
        break;
      }
      default:
        break;
    }
  }
  return info;
}

/** `go1.21.6` → `v1.21.6`, `go1.22rc1` → `v1.22.0-rc.1`, `go1.21` → `v1.21.0` (how OSV's Go records count). */
export function goToolchainSemver(v: string): string | undefined {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?/.exec(v.trim());
  if (!m) return undefined;
  const core = `v${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] ? `${core}-${m[4]}.${m[5]}` : core;
}

function goPackage(path: string, version: string, file: string, ctx: ParseContext): Package {
  const slash = path.lastIndexOf('/');
  const known = version !== '' && version !== '(devel)';
  return {
    ecosystem: 'golang',
    name: path,
    version,
    // The purl spec's golang type lower-cases namespace and name; `name` keeps the module's case.
    purl: purl({
      type: 'golang',
      namespace: slash > 0 ? path.slice(0, slash).toLowerCase() : undefined,
      name: (slash > 0 ? path.slice(slash + 1) : path).toLowerCase(),
      version: known ? version : undefined,
    }),
    layer: ctx.layer,
    path: file,
  };
}

/**
 * A replacement by a directory rather than by a module (cmd/go's modfile.IsDirectoryPath: a
 * relative or absolute path in Unix or Windows syntax).
 */
function isDirectoryPath(p: string): boolean {
  return /^(?:\.\.?(?:[/\\]|$)|[/\\]|[A-Za-z]:)/.test(p);
}

/**
 * Packages of a Go binary: the main module (`(devel)` when built from a checkout, as Debian's
 * are), every dependency (a replacement by a module at a version stands in for the module it
 * replaces; a local-directory replacement keeps the module path with `(devel)`: Go 1.18+ records
 * it as `=> ./dir (devel)`, older Go with no version), and `stdlib` at the toolchain's version,
 * which is what OSV's Go advisories for the standard library name.
 */
export function goBuildInfoPackages(info: GoBuildInfo, file: string, ctx: ParseContext): Package[] {
  const out: Package[] = [];
  if (info.main) out.push(goPackage(info.main.path, info.main.version, file, ctx));
  for (const d of info.deps) {
    const r = d.replace;
    if (r && r.version && !isDirectoryPath(r.path)) out.push(goPackage(r.path, r.version, file, ctx));
    else if (r) out.push(goPackage(d.path, '(devel)', file, ctx));
    else if (d.version) out.push(goPackage(d.path, d.version, file, ctx));
  }
  const std = goToolchainSemver(info.goVersion);
  if (std) out.push(goPackage('stdlib', std, file, ctx));
  return out;
}

const EXTRACTED = extractMagic('golang');

/** The build info alone (JSON after a marker), what the walker keeps of a Go binary. */
export function extractGoBuildInfo(content: Buffer): Buffer | undefined {
  const info = readGoBuildInfo(content);
  return info && Buffer.concat([EXTRACTED, Buffer.from(JSON.stringify(info))]);
}

function fromExtract(content: Buffer): GoBuildInfo | undefined {
  const v: unknown = JSON.parse(content.toString('utf8', EXTRACTED.length));
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Partial<GoBuildInfo>;
  const mod = (m: unknown): m is GoModule =>
    typeof m === 'object' &&
    m !== null &&
    typeof (m as GoModule).path === 'string' &&
    typeof (m as GoModule).version === 'string';
  if (typeof o.goVersion !== 'string' || typeof o.path !== 'string' || !Array.isArray(o.deps))
    return undefined;
  if (!o.deps.every(mod) || (o.main !== undefined && !mod(o.main))) return undefined;
  return { goVersion: o.goVersion, path: o.path, main: o.main, deps: o.deps, settings: [] };
}

export function parseGoBinary(content: Buffer, path: string, ctx: ParseContext): Package[] {
  const extracted = content.subarray(0, EXTRACTED.length).equals(EXTRACTED);
  const info = extracted ? fromExtract(content) : readGoBuildInfo(content);
  return info ? goBuildInfoPackages(info, path, ctx) : [];
}

export const goBinaryParser: PackageParser = failSoft({
  name: 'golang',
  wants: wantsGoBinary,
  maxBytes: 128 * 1024 * 1024,
  sniff: { bytes: 4, test: isElf },
  extract: extractGoBuildInfo,
  parse: parseGoBinary,
});

/**
 * The build info of a binary read as a stream (the walker's tar entry), in bounded memory: it
 * keeps a few bytes across chunk boundaries until it meets an aligned, plausible header, then at
 * most `maxCapture` bytes after it. `result()` after the last chunk: `info` for a Go 1.18+ binary,
 * `needsWholeFile` for an older one (pointer layout; see the module comment), neither when the
 * stream is not a Go binary.
 */
export class GoBuildInfoScanner {
  private offset = 0;
  private carry = Buffer.alloc(0);
  private capture: Buffer[] | undefined;
  private captured = 0;
  private state: 'search' | 'capture' | 'done' = 'search';
  private info: GoBuildInfo | undefined;
  private old = false;
  private headSeen = false;

  constructor(private readonly maxCapture = 4 * 1024 * 1024) {}

  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: Buffer): void {
    if (this.state === 'done' || chunk.length === 0) return;
    if (!this.headSeen) {
      const head = Buffer.concat([this.carry, chunk]);
      if (head.length < 4) {
        this.carry = head;
        return;
      }
      this.headSeen = true;
      if (!isElf(head)) {
        this.state = 'done';
        return;
      }
      this.carry = Buffer.alloc(0);
      chunk = head;
      this.offset = 0;
    }
    if (this.state === 'capture') {
      this.append(chunk);
      this.offset += chunk.length;
      return;
    }
    const base = this.offset - this.carry.length;
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    this.offset += chunk.length;
    let i = 0;
    for (;;) {
      const hit = data.indexOf(MAGIC, i);
      if (hit < 0) break;
      if ((base + hit) % ALIGN === 0 && (data.length - hit < HEADER || plausibleHeader(data, hit))) {
        this.state = 'capture';
        this.capture = [];
        this.captured = 0;
        this.append(data.subarray(hit));
        return;
      }
      i = hit + 1;
    }
    this.carry = Buffer.from(data.subarray(Math.max(0, data.length - (MAGIC.length - 1))));
  }

  private append(b: Buffer): void {
    if (!this.capture) return;
    const room = this.maxCapture - this.captured;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.capture.push(Buffer.from(part));
    this.captured += part.length;
    this.tryDecode();
  }

  private tryDecode(): void {
    const buf = Buffer.concat(this.capture ?? []);
    this.capture = [buf];
    if (buf.length < HEADER) return;
    if (!plausibleHeader(buf, 0)) {
      // Not a header after all: search on past it.
      this.state = 'search';
      this.capture = undefined;
      this.carry = Buffer.alloc(0);
      const rest = buf.subarray(1);
      this.offset -= rest.length;
      this.push(rest);
      return;
    }
    if ((buf[15] & 2) === 0) {
      this.old = true;
      this.state = 'done';
      return;
    }
    const s = inlineStrings(buf, HEADER);
    if (s) {
      this.info = decoded(s);
      this.state = 'done';
    } else if (this.captured >= this.maxCapture) {
      this.state = 'done';
    }
  }

  result(): { info?: GoBuildInfo; needsWholeFile: boolean } {
    return this.info ? { info: this.info, needsWholeFile: false } : { needsWholeFile: this.old };
  }
}
