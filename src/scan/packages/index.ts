/**
 * The package inventories (the SBOM's content), one parser per package database. The layer walker
 * hands each parser the files of the merged filesystem it `wants` (within `maxBytes`, after
 * `sniff`, keeping `extract`'s digest where there is one), with the layer that holds the file and
 * the image's distro from os-release (`distroFromFiles`), which dpkg and apk purls need: read
 * os-release first, then the databases.
 */
import { apkParser } from './apk.js';
import { dpkgParser } from './dpkg.js';
import { goBinaryParser } from './golang.js';
import { javaParser } from './java.js';
import { npmLockParser, npmPackageJsonParser } from './npm.js';
import type { PackageParser } from './parser.js';
import { pythonParser } from './python.js';

export const PACKAGE_PARSERS_ALL: readonly PackageParser[] = [
  dpkgParser,
  apkParser,
  npmLockParser,
  npmPackageJsonParser,
  pythonParser,
  goBinaryParser,
  javaParser,
];

export type { Distro, EntryInfo, PackageParser, ParseContext } from './parser.js';
export {
  distroFromFiles,
  OS_RELEASE_MAX_BYTES,
  OS_RELEASE_PATHS,
  parseOsRelease,
  wantsOsRelease,
} from './os-release.js';
export { GoBuildInfoScanner, readGoBuildInfo, type GoBuildInfo } from './golang.js';
export { purl, purlEncode } from './purl.js';
