import type { Package } from '../types.js';

/**
 * The contract between the layer walker and the package inventories (issue 14). A parser is pure:
 * it gets the bytes of one file of the merged filesystem and returns what that file says is
 * installed. It never throws: a garbled, truncated or hostile file yields `[]` (and a note when the
 * caller collects them), so one bad database never hides the rest of the inventory.
 */

export interface Distro {
  /** os-release `ID` (`debian`, `ubuntu`, `alpine`). */
  id: string;
  /** os-release `VERSION_ID` (`12`, `3.19.1`); `VERSION_CODENAME` when there is none (sid); or ''. */
  version: string;
}

export interface ParseContext {
  /** Digest of the layer the file comes from (the top-most layer that holds this version of it). */
  layer: string;
  /** The image's distribution, from `parseOsRelease` of `etc/os-release` (or `usr/lib/os-release`). */
  distro?: Distro;
  /** Filled with one line per file that could not be read (why, never the content). */
  notes?: string[];
}

/** What the walker knows about a file besides its path (a LayerEntry fits). */
export interface EntryInfo {
  mode: number;
  size: number;
}

export interface PackageParser {
  name: string;
  /**
   * Whether this parser wants the file at `path` (normalised: no leading `/` or `./`). Decided on
   * the path alone, except for parsers that say otherwise (Go binaries also look at the mode).
   */
  wants(path: string, entry?: EntryInfo): boolean;
  /** Files larger than this are not handed over (the walker notes them as skipped). */
  maxBytes: number;
  /**
   * Optional cheap check of a file's first bytes before the walker buffers all of it (Go: the ELF
   * magic), so executables that cannot be Go binaries are never read whole.
   */
  sniff?: { bytes: number; test(head: Buffer): boolean };
  /**
   * Optional: what the walker keeps (and caches) instead of the whole file, for parsers of large
   * files (a 40 MiB Go binary, a 200 MiB fat jar): a few hundred bytes `parse` accepts in place of
   * the file; undefined when the file holds nothing for this parser (then nothing is kept).
   */
  extract?(content: Buffer, path: string): Buffer | undefined;
  parse(content: Buffer, path: string, ctx: ParseContext): Package[];
}

/** The prefix of an `extract` result: no real file of these formats starts with a NUL. */
export function extractMagic(parser: string): Buffer {
  return Buffer.from(`\0moat-extract:${parser}\n`);
}

/** A parser whose `parse` cannot throw: any exception becomes `[]` and a note. */
export function failSoft(parser: PackageParser): PackageParser {
  const inner = parser.parse.bind(parser);
  const extract = parser.extract?.bind(parser);
  return {
    ...parser,
    ...(extract && {
      extract(content: Buffer, path: string) {
        try {
          return extract(content, path);
        } catch {
          return undefined;
        }
      },
    }),
    parse(content, path, ctx) {
      try {
        return inner(content, path, ctx);
      } catch (err) {
        ctx.notes?.push(`${parser.name}: ${path}: not readable (${(err as Error)?.message ?? String(err)})`);
        return [];
      }
    },
  };
}

/** `a/b/c` → `c`. */
export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** Lines of a text file (LF or CRLF), without allocating per-line copies of the whole file twice. */
export function textLines(content: Buffer): string[] {
  return content.toString('utf8').split(/\r?\n/);
}
