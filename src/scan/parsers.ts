import type { PackageParser } from './types.js';

/**
 * The package parsers the scanner runs (src/scan/packages/ fills this list: one parser per package
 * database or manifest format). The layer walker retains what each one `wants`; scanImage parses
 * the files of the merged filesystem with them. Order does not matter.
 */
export const PACKAGE_PARSERS: PackageParser[] = [];
