import { PACKAGE_PARSERS_ALL } from './packages/index.js';
import type { PackageParser } from './types.js';

/**
 * The package parsers the scanner runs: one per package database or manifest format
 * (src/scan/packages/: dpkg, apk, npm, python, Go binaries, Java). The layer walker retains what
 * each one `wants`; scanImage parses the files of the merged filesystem with them. Order does not
 * matter.
 */
export const PACKAGE_PARSERS: readonly PackageParser[] = PACKAGE_PARSERS_ALL;
