/**
 * Version ordering per ecosystem: each file is one package manager's rules. `compare` returns -1, 0
 * or 1 and never throws (an invalid version sorts somewhere definite); `valid` says whether the
 * package manager itself would accept the string, which is what matching checks first.
 */
import type { Ecosystem } from '../../types.js';
import * as apk from './apk.js';
import * as debian from './debian.js';
import * as maven from './maven.js';
import * as pep440 from './pep440.js';
import * as semver from './semver.js';

export interface VersionScheme {
  compare(a: string, b: string): number;
  valid(v: string): boolean;
}

export const SCHEMES: Readonly<Record<Ecosystem, VersionScheme>> = {
  deb: debian,
  apk,
  npm: semver,
  pypi: pep440,
  golang: { compare: semver.compareGo, valid: semver.validGo },
  maven,
};

/** OSV's SEMVER range type: semver 2.0 whatever the ecosystem (Go's `v` prefix tolerated). */
export const SEMVER: VersionScheme = { compare: semver.compareGo, valid: semver.validGo };

export { apk, debian, maven, pep440, semver };
