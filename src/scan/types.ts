/**
 * The scan room's shared shapes (issue 14). Scanners read each layer's tar stream from the store
 * (no extraction to disk); what they find is plain data, recorded with the image by layer digest
 * and database version, and only read by the admission policy's facts.
 *
 * Who fills what:
 *   - layer walker, hazards, permissions, secrets (src/scan/layers/, src/scan/rules/): Finding
 *   - package inventories (src/scan/packages/): Package, from files of the merged filesystem
 *   - vulnerability matching (src/scan/vuln/): Finding of kind 'vulnerability' for a Package
 */

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info' | 'unknown';

export type FindingKind = 'hazard' | 'permission' | 'secret' | 'vulnerability' | 'config';

export interface Finding {
  kind: FindingKind;
  /** Stable rule id (`hazard.path-traversal`, `secret.aws-access-key`, `CVE-2023-1234`...). */
  rule: string;
  severity: Severity;
  /** One line for people. */
  title: string;
  /** The layer (digest) the finding is in; undefined for the image config. */
  layer?: string;
  /** The path in the image (no leading slash), when the finding is about a file. */
  path?: string;
  /** 1-based line, for secrets in text files. */
  line?: number;
  /** A redacted prefix of a secret (never the secret itself), or other short detail. */
  detail?: string;
  /** For vulnerabilities: the package, the fixed version (when known), aliases. */
  package?: PackageRef;
  fixed?: string;
  aliases?: string[];
  /** For vulnerabilities: the CVSS vector and score the severity came from. */
  cvss?: { vector: string; score: number };
  /**
   * For vulnerabilities: a VEX statement says the product is not affected (or fixed). The finding
   * stays in the report, marked; thresholds count only findings without it.
   */
  suppressed?: {
    by: 'vex';
    status: 'not_affected' | 'fixed';
    justification?: string;
    impact?: string;
    /** The VEX document's `@id` (or file). */
    document: string;
  };
  /** For findings in the image config: the field (`config.Env[2]`, `history[3].created_by`). */
  field?: string;
}

export type Ecosystem = 'deb' | 'apk' | 'npm' | 'pypi' | 'golang' | 'maven';

export interface PackageRef {
  ecosystem: Ecosystem;
  name: string;
  version: string;
}

export interface Package extends PackageRef {
  /** Debian's source package (name, and version when it differs): what Debian OSV records match. */
  source?: { name: string; version?: string };
  /** The distribution the package belongs to (`debian` `12`, `alpine` `3.19`), from os-release. */
  distro?: { id: string; version: string };
  /** Package URL per the purl spec (pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12). */
  purl: string;
  /** The layer that introduced this version of the package (digest). */
  layer: string;
  /** Where it was found (the database or manifest file, no leading slash). */
  path: string;
  /** Licences as declared, when the database says. */
  licenses?: string[];
}

/** A file or other entry of a layer, as the walker hands it to scanners. */
export interface LayerEntry {
  /** Normalised path in the image: no leading `/` or `./`, no `.`/`..` components (those are hazards). */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  layer: string;
  layerIndex: number;
}

/** What a package parser is told about the file it parses (a file of the merged filesystem). */
export interface PackageParseContext {
  /** The layer (digest) that provides this version of the file, and its index (0 = bottom). */
  layer: string;
  layerIndex: number;
  /** The distribution, from the merged filesystem's os-release (`ID`, `VERSION_ID`), when known. */
  distro?: { id: string; version: string };
  /**
   * Earlier versions of the same path in lower layers (bottom first, only those no later layer
   * deleted in between): to find the layer that introduced a package (the lowest version that
   * already lists it).
   */
  history: { layer: string; layerIndex: number; content: Buffer }[];
  /** Another file of the merged filesystem that some parser retained (symlinks followed). */
  file(path: string): Buffer | undefined;
  /** One line per file that could not be read (why, never the content). */
  notes?: string[];
}

/**
 * A package database or manifest parser (src/scan/packages/ registers them in PACKAGE_PARSERS).
 * The layer walker retains each file entry `wants` accepts (at most `maxBytes`, reduced by
 * `extract` when given) in memory and in the per-layer cache; `parse` runs on the files of the
 * merged filesystem once every layer is read, so a later layer that deletes or replaces a
 * database changes the result. `parse` is pure: data in, packages out.
 */
export interface PackageParser {
  /** Stable name (`dpkg`, `apk`, `npm-lock`...): with `version`, part of the layer cache key. */
  name: string;
  /** Bump when what `wants`/`extract` retain changes (stale cached layers are then re-read). */
  version?: number;
  /** Called for every regular file of every layer (path: normalised, no leading `/`). */
  wants(path: string, entry: LayerEntry): boolean;
  /** Files larger than this are not retained (a note says so). */
  maxBytes: number;
  /**
   * Optional cheap check of a file's first bytes before it is buffered whole (Go: the ELF magic),
   * so executables that cannot be Go binaries are never read whole.
   */
  sniff?: { bytes: number; test(head: Buffer): boolean };
  /**
   * Optional: reduce a wanted file, while the layer is read, to what `parse` needs (a Go
   * binary's build info out of 50 MB); undefined drops the file. The result is what `parse` gets.
   */
  extract?(content: Buffer, path: string): Buffer | undefined;
  parse(content: Buffer, path: string, ctx: PackageParseContext): Package[];
}
