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
