/**
 * apk and Maven: no reference tool on this host, so hand-written tables, each tricky row with the
 * rule it exercises (apk-tools 2.14 src/version.c; Maven's ComparableVersion and the POM
 * reference's "Version Order Specification").
 */
import { describe, expect, it } from 'vitest';
import * as apk from '../../../../src/scan/vuln/versions/apk.js';
import * as maven from '../../../../src/scan/vuln/versions/maven.js';

type Row = [string, '<' | '=' | '>', string];
const SIGN = { '<': -1, '=': 0, '>': 1 } as const;

function check(cmp: (a: string, b: string) => number, rows: Row[]) {
  for (const [a, op, b] of rows) {
    expect(`${a} ${['<', '=', '>'][cmp(a, b) + 1]} ${b}`).toBe(`${a} ${op} ${b}`);
    // Antisymmetric: the reverse comparison is the opposite answer.
    expect(cmp(b, a), `${b} vs ${a}`).toBe(-SIGN[op] || 0);
  }
}

describe('apk versions', () => {
  it('orders as apk-tools does', () => {
    check(apk.compare, [
      ['1.2.3', '<', '1.2.10'], // digit runs are numbers
      ['1.2', '<', '1.2.0'], // a version that goes on with `.N` is greater
      ['1.0', '<', '1.0-r1'], // -rN revision after the bare version
      ['1.0-r9', '<', '1.0-r10'],
      ['1.0_rc1', '<', '1.0'], // _alpha _beta _pre _rc: before the release
      ['1.0_alpha', '<', '1.0_beta'], // alpha < beta < pre < rc
      ['1.0_beta9', '<', '1.0_pre1'],
      ['1.0_pre2', '<', '1.0_rc1'],
      ['1.0_rc1', '<', '1.0_rc2'], // the suffix number counts
      ['1.0', '<', '1.0_cvs1'], // _cvs _svn _git _hg _p: after the release
      ['1.0_cvs1', '<', '1.0_svn1'],
      ['1.0_git20240101', '<', '1.0_hg1'],
      ['1.0_hg1', '<', '1.0_p1'],
      ['1.0_p9', '<', '1.0_p10'],
      ['1.0_p1', '<', '1.0.1'], // a suffix token ranks below a further digit
      ['1.0a', '>', '1.0'], // a letter after the digits is greater
      ['1.0a', '<', '1.0b'],
      ['1.0z', '<', '1.0.1'], // ... but below a further `.N`
      ['1.0_alpha_pre2', '<', '1.0_alpha'], // suffixes chain; a pre suffix lowers again
      ['1.01', '<', '1.1'], // leading zeros after a dot: fewer value (2.14, #10880)
      ['1.001', '<', '1.01'],
      ['1.0', '=', '1.0'],
      ['1.10', '>', '1.9'],
      ['2.36.1-r0', '<', '2.36.1-r1'],
      ['3.1.4-r5', '>', '3.1.3-r9'],
    ]);
  });

  it('validates as apk_version_validate does', () => {
    for (const v of ['1', '1.2.3', '1.0a', '1.0_rc1', '1.0_rc1-r2', '1.0_p1_pre2', '20240101', '1.0-r0'])
      expect([v, apk.valid(v)]).toEqual([v, true]);
    // unknown suffix, upper case, a revision not last, no `r`, two letters, nothing (a bare `-r`
    // and a leading letter are still valid in 2.14, refused only by apk-tools 3)
    for (const v of ['', '1.0_foo', '1.0A', '1.0-r1_p1', '1.0-1', '1.0ab'])
      expect([v, apk.valid(v)]).toEqual([v, false]);
  });
});

describe('Maven versions', () => {
  it('orders as ComparableVersion does', () => {
    check(maven.compare, [
      ['1', '<', '1.1'], // padding: 1 = 1.0 < 1.1
      ['1.0', '=', '1'], // trailing zeros are null items
      ['1.ga', '=', '1'], // "ga", "final", "release" are the release: null
      ['1-final', '=', '1'],
      ['1.0.RELEASE', '=', '1'], // case-insensitive
      ['1-alpha', '<', '1-beta'], // alpha < beta < milestone < rc = cr < snapshot < "" < sp
      ['1-beta', '<', '1-milestone'],
      ['1-milestone', '<', '1-rc'],
      ['1-rc', '=', '1-cr'],
      ['1-rc', '<', '1-snapshot'],
      ['1-SNAPSHOT', '<', '1'],
      ['1', '<', '1-sp'],
      ['1-sp', '<', '1-foo'], // unknown qualifiers after the known ones...
      ['1-bar', '<', '1-foo'], // ...alphabetically
      ['1-a1', '=', '1-alpha-1'], // a/b/m followed by a digit are alpha/beta/milestone
      ['1-m2', '=', '1-milestone-2'],
      ['1-a', '>', '1'], // a lone "a" (not followed by a digit) is an unknown qualifier
      ['1-foo2', '<', '1-foo10'], // the digit switch splits: 2 < 10 as numbers
      ['1.foo', '=', '1-foo'], // a qualifier after . or - is the same
      ['1-foo', '<', '1-1'], // qualifier < list (-number)
      ['1-1', '<', '1.1'], // list (-number) < .number
      ['1-sp', '<', '1.1'],
      ['1-sp.1', '>', '1-ga.1'],
      ['1-sp-1', '<', '1-ga-1'], // 1-ga-1 = 1-1, a list beats a qualifier
      ['1.0.0-rc1', '<', '1.0.0'],
      ['2.0.0-M1', '<', '2.0.0-RC1'],
      ['2.14.0', '>', '2.13.4.2'],
      ['1.2.3', '<', '1.2.10'],
      ['1.0-alpha-1', '<', '1.0-alpha-2'],
      ['5.3.18', '<', '5.3.20'],
    ]);
  });
});
