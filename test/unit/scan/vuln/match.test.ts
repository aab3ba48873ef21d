/**
 * Matching packages against OSV records, and VEX statements suppressing findings.
 */
import { describe, expect, it } from 'vitest';
import { vulnDbFromRecords } from '../../../../src/scan/vuln/db.js';
import { matchPackages } from '../../../../src/scan/vuln/match.js';
import { parseOsv } from '../../../../src/scan/vuln/osv.js';
import { parseVex } from '../../../../src/scan/vuln/vex.js';
import type { Finding } from '../../../../src/scan/types.js';
import { PACKAGES, pkg, RECORDS } from './fixtures.js';

const db = vulnDbFromRecords(RECORDS.map(parseOsv));
const one = (p: (typeof PACKAGES)[keyof typeof PACKAGES]) => matchPackages([p], db);
const brief = (fs: Finding[]) => fs.map((f) => [f.rule, f.severity, f.fixed ?? null]);

describe('matching packages against OSV records', () => {
  it('reports an affected version with its fix, and not the fixed version', () => {
    const [f, ...rest] = one(PACKAGES.lodashOld);
    expect(rest).toEqual([]); // the GIT range and the withdrawn record match nothing
    expect(f).toEqual({
      kind: 'vulnerability',
      rule: 'GHSA-lodash-0001',
      severity: 'critical',
      title: 'lodash 4.17.20: Prototype pollution in lodash',
      layer: 'sha256:l1',
      path: 'app/package-lock.json',
      package: { ecosystem: 'npm', name: 'lodash', version: '4.17.20' },
      fixed: '4.17.21',
      aliases: ['CVE-2021-0001'],
      cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
    });
    expect(one(PACKAGES.lodashFixed)).toEqual([]);
  });

  it('honours last_affected, and merges records that alias each other (normalised PyPI names)', () => {
    // PYSEC (last_affected 1.2.5) and GHSA (fixed 1.2.6) are one vulnerability: one finding, under
    // the record with a severity, with the other as an alias and the fix the GHSA names.
    expect(brief(one(PACKAGES.djangoLast))).toEqual([['GHSA-django-0100', 'medium', '1.2.6']]);
    expect(one(PACKAGES.djangoLast)[0].aliases).toEqual(['CVE-2024-0100', 'PYSEC-2024-1']);
    expect(one(PACKAGES.djangoAfter)).toEqual([]);
    const pysecOnly = vulnDbFromRecords([parseOsv(RECORDS[1])]);
    expect(
      brief(matchPackages([pkg({ ecosystem: 'pypi', name: 'django_foo', version: '1.2.5' })], pysecOnly)),
    ).toEqual([['PYSEC-2024-1', 'unknown', null]]);
    expect(
      matchPackages([pkg({ ecosystem: 'pypi', name: 'django-foo', version: '1.2.5.post1' })], pysecOnly),
    ).toEqual([]);
  });

  it('matches Debian records on the source package and the release only', () => {
    // libssl3 is built from openssl: the Debian:12 openssl record matches; the Debian:11 one and the
    // one naming the binary package do not.
    expect(brief(one(PACKAGES.libssl))).toEqual([['DEBIAN-CVE-2023-0002', 'medium', '3.0.11-1~deb12u2']]);
    expect(one(PACKAGES.libssl)[0].package).toEqual({
      ecosystem: 'deb',
      name: 'libssl3',
      version: '3.0.11-1~deb12u1',
    });
    expect(one(PACKAGES.libsslFixed)).toEqual([]);
    const bookworm = { ...PACKAGES.libssl, distro: { id: 'debian', version: '11' } };
    expect(brief(matchPackages([bookworm], db))).toEqual([['DEBIAN-CVE-2023-0003', 'high', '9:9.9']]);
    // No release known: no guess.
    expect(matchPackages([{ ...PACKAGES.libssl, distro: undefined }], db)).toEqual([]);
    // The source's own version is compared when it differs from the binary's (binNMU +b1).
    const binnmu = {
      ...PACKAGES.libssl,
      version: '3.0.11-1~deb12u2+b1',
      source: { name: 'openssl', version: '3.0.11-1~deb12u1' },
    };
    expect(brief(matchPackages([binnmu], db))).toEqual([
      ['DEBIAN-CVE-2023-0002', 'medium', '3.0.11-1~deb12u2'],
    ]);
  });

  it('matches Alpine by origin and branch, Go modules, Maven coordinates and listed versions', () => {
    expect(brief(one(PACKAGES.busybox))).toEqual([['ALPINE-CVE-2023-0005', 'unknown', '1.36.1-r16']]);
    expect(matchPackages([{ ...PACKAGES.busybox, distro: { id: 'alpine', version: '3.18.4' } }], db)).toEqual(
      [],
    );
    expect(brief(one(PACKAGES.xnet))).toEqual([['GO-2023-0006', 'high', '0.17.0']]);
    expect(matchPackages([{ ...PACKAGES.xnet, version: 'v0.17.0' }], db)).toEqual([]);
    expect(brief(one(PACKAGES.log4j))).toEqual([['GHSA-log4j-0007', 'critical', '2.15.0']]);
    expect(matchPackages([{ ...PACKAGES.log4j, version: '2.0-beta8' }], db)).toEqual([]);
    expect(brief(one(PACKAGES.leftPad))).toEqual([['OSV-LISTED-0008', 'unknown', null]]);
    expect(matchPackages([{ ...PACKAGES.leftPad, version: '1.1.2' }], db)).toEqual([]);
  });

  it('evaluates ranges as the OSV schema does: several introduced/fixed pairs, unsorted events, limit', () => {
    const rec = parseOsv({
      id: 'OSV-RANGES',
      modified: '2024-01-01T00:00:00Z',
      affected: [
        {
          package: { ecosystem: 'npm', name: 'multi' },
          ranges: [
            {
              type: 'SEMVER',
              events: [
                { fixed: '2.0.5' },
                { introduced: '1.0.0' },
                { fixed: '1.2.0' },
                { introduced: '2.0.0' },
              ],
            },
            { type: 'SEMVER', events: [{ introduced: '3.0.0' }, { limit: '3.5.0' }] },
          ],
        },
      ],
    });
    const d = vulnDbFromRecords([rec]);
    const at = (v: string) =>
      brief(matchPackages([pkg({ ecosystem: 'npm', name: 'multi', version: v })], d))[0]?.[2];
    expect(
      ['0.9.0', '1.0.0', '1.1.9', '1.2.0', '1.9.9', '2.0.0', '2.0.4', '2.0.5', '3.1.0', '3.5.0'].map(at),
    ).toEqual([
      undefined,
      '1.2.0',
      '1.2.0',
      undefined,
      undefined,
      '2.0.5',
      '2.0.5',
      undefined,
      null,
      undefined,
    ]);
  });

  it('orders findings deterministically: severity, id, package', () => {
    const all = Object.values(PACKAGES);
    const a = matchPackages(all, db);
    const b = matchPackages([...all].reverse(), db);
    expect(b).toEqual(a);
    expect(a.map((f) => f.severity)).toEqual([
      'critical',
      'critical',
      'high',
      'medium',
      'medium',
      'unknown',
      'unknown',
    ]);
  });
});

describe('VEX', () => {
  const vexDoc = (statements: unknown[], extra: Record<string, unknown> = {}) =>
    parseVex(
      {
        '@context': 'https://openvex.dev/ns/v0.2.0',
        '@id': 'https://example.invalid/vex/1',
        statements,
        ...extra,
      },
      'vex.json',
    );

  it('suppresses a finding by alias and package purl, and keeps it in the report', () => {
    const vex = vexDoc([
      {
        vulnerability: { name: 'CVE-2021-0001' },
        products: [{ '@id': 'pkg:npm/lodash' }],
        status: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
      },
    ]);
    const fs = matchPackages([PACKAGES.lodashOld, PACKAGES.xnet], db, vex);
    expect(fs.map((f) => [f.rule, f.suppressed?.status ?? null])).toEqual([
      ['GHSA-lodash-0001', 'not_affected'],
      ['GO-2023-0006', null],
    ]);
    expect(fs[0].suppressed).toEqual({
      by: 'vex',
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      document: 'https://example.invalid/vex/1',
    });
  });

  it('applies image statements through subcomponents, and the latest statement decides', () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    const image = { '@id': `pkg:oci/app@${digest.replace(':', '%3A')}` };
    const vex = vexDoc([
      {
        vulnerability: { name: 'GO-2023-0006' },
        products: [{ ...image, subcomponents: [{ '@id': 'pkg:golang/golang.org/x/net@v0.15.0' }] }],
        status: 'fixed',
        timestamp: '2024-01-01T00:00:00Z',
      },
      {
        vulnerability: { name: 'CVE-2021-0001' },
        products: [image],
        status: 'not_affected',
        impact_statement: 'lodash is only used at build time',
        timestamp: '2024-01-01T00:00:00Z',
      },
      {
        // Later: lodash is affected after all.
        vulnerability: { name: 'GHSA-lodash-0001' },
        products: [{ '@id': 'pkg:npm/lodash@4.17.20' }],
        status: 'affected',
        timestamp: '2024-02-01T00:00:00+01:00',
      },
    ]);
    const pk = [PACKAGES.lodashOld, { ...PACKAGES.xnet, purl: 'pkg:golang/golang.org/x/net@v0.15.0' }];
    const withImage = matchPackages(pk, db, vex, { imageDigest: digest });
    expect(withImage.map((f) => [f.rule, f.suppressed?.status ?? null])).toEqual([
      ['GHSA-lodash-0001', null],
      ['GO-2023-0006', 'fixed'],
    ]);
    // Another image: the image statements do not apply.
    const other = matchPackages(pk, db, vex, { imageDigest: 'sha256:' + 'cd'.repeat(32) });
    expect(other.every((f) => !f.suppressed)).toBe(true);
  });

  it('under_investigation and other vulnerabilities or packages suppress nothing', () => {
    const vex = vexDoc([
      { vulnerability: 'CVE-2021-0001', products: ['pkg:npm/lodash'], status: 'under_investigation' },
      {
        vulnerability: 'CVE-1999-0001',
        products: ['pkg:npm/lodash'],
        status: 'not_affected',
        justification: 'component_not_present',
      },
      {
        vulnerability: 'CVE-2021-0001',
        products: ['pkg:npm/lodash@4.17.19'],
        status: 'not_affected',
        justification: 'component_not_present',
      },
    ]);
    expect(matchPackages([PACKAGES.lodashOld], db, vex)[0].suppressed).toBeUndefined();
  });

  it('refuses documents that are not OpenVEX, and not_affected without a reason', () => {
    expect(() => parseVex({ foo: 1 })).toThrow(expect.objectContaining({ code: 'VULN_VEX_INVALID' }));
    expect(() =>
      vexDoc([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:npm/x'], status: 'not_affected' }]),
    ).toThrow(expect.objectContaining({ code: 'VULN_VEX_INVALID' }));
    expect(() =>
      vexDoc([{ vulnerability: { name: 'CVE-1' }, products: ['pkg:npm/x'], status: 'maybe' }]),
    ).toThrow(expect.objectContaining({ code: 'VULN_VEX_INVALID' }));
  });
});
