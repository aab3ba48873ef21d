/**
 * The report writers: CycloneDX 1.5 validated with ajv against the published schema (from the
 * @cyclonedx/cyclonedx-library package, with the SPDX licence list and JSF schemas it refers to),
 * SARIF 2.1.0 against the published schema (from @microsoft/jest-sarif: test/helpers/report-schemas.ts),
 * SPDX 2.3 against its required structure (its published schema is not on npm or in Debian:
 * MOAT_SPDX_SCHEMA names a copy to validate against too).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toCycloneDx } from '../../../../src/scan/report/cyclonedx.js';
import { toSarif } from '../../../../src/scan/report/sarif.js';
import { toSpdx } from '../../../../src/scan/report/spdx.js';
import { toTable } from '../../../../src/scan/report/table.js';
import { summarize, type ScanReport } from '../../../../src/scan/report/types.js';
import { addFormats, sarifValidator, spdxValidator, violations } from '../../../helpers/report-schemas.js';

const require = createRequire(import.meta.url);
const { Ajv } = require('ajv') as typeof import('ajv');

const L1 = `sha256:${'1'.repeat(64)}`;
const report: ScanReport = {
  image: {
    reference: 'registry.example.com/team/app:1',
    id: `sha256:${'2'.repeat(64)}`,
    digest: `sha256:${'3'.repeat(64)}`,
    layers: [L1],
  },
  packages: [
    {
      ecosystem: 'deb',
      name: 'openssl',
      version: '3.0.11-1~deb12u1',
      source: { name: 'openssl' },
      distro: { id: 'debian', version: '12' },
      purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12',
      layer: L1,
      path: 'var/lib/dpkg/status',
      licenses: ['Apache-2.0'],
    },
    {
      ecosystem: 'npm',
      name: '@scope/left-pad',
      version: '1.3.0',
      purl: 'pkg:npm/%40scope/left-pad@1.3.0',
      layer: L1,
      path: 'app/package-lock.json',
    },
  ],
  findings: [
    {
      kind: 'vulnerability',
      rule: 'DSA-5532-1',
      severity: 'critical',
      title: 'openssl: several vulnerabilities',
      package: { ecosystem: 'deb', name: 'openssl', version: '3.0.11-1~deb12u1' },
      fixed: '3.0.11-1~deb12u2',
      aliases: ['CVE-2023-5363'],
      cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
      layer: L1,
    },
    {
      kind: 'secret',
      rule: 'secret.aws-access-key',
      severity: 'high',
      title: 'AWS access key',
      layer: L1,
      path: 'app/.env',
      line: 3,
      detail: 'AKIA…',
    },
    { kind: 'config', rule: 'config.runs-as-root', severity: 'medium', title: 'runs as root (no USER)' },
  ],
  suppressed: [],
  db: { path: '/db', version: 'abc', ageDays: 2 },
  notes: [],
  scanner: { name: 'moat', version: '0.1.0' },
  at: '2026-12-07T03:00:00.000Z',
};

function loadSchema(name: string): Record<string, unknown> {
  const dir = path.dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json'));
  return JSON.parse(readFileSync(path.join(dir, 'res/schema', name), 'utf8')) as Record<string, unknown>;
}

describe('CycloneDX 1.5', () => {
  it('is valid against the published schema', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    // the formats the schema uses: ajv-formats' date-time; iri-reference and idn-email, which
    // ajv-formats does not have, checked loosely
    addFormats(ajv);
    ajv.addFormat('iri-reference', (s: string) => !/\s/.test(s));
    ajv.addFormat('idn-email', (s: string) => s.includes('@'));
    // the BOM schema refers to its neighbours by file name, relative to its own $id
    for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json'])
      ajv.addSchema({ ...loadSchema(f), $id: `http://cyclonedx.org/schema/${f}` });
    const validate = ajv.compile(loadSchema('bom-1.5.SNAPSHOT.schema.json'));
    const bom = toCycloneDx(report, '8b1c4c6b-7a0e-4f7a-9a53-1d3f1d1f2b3c');
    const ok = validate(bom);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
    expect((bom.components as { purl: string }[]).map((c) => c.purl)).toEqual(
      report.packages.map((p) => p.purl),
    );
    // and a broken document is caught (the validation is not vacuous)
    expect(validate({ ...bom, specVersion: 15 })).toBe(false);
  });
});

describe('SPDX 2.3', () => {
  it('has the required fields, valid SPDX IDs, and the image CONTAINS each package', () => {
    const d = toSpdx(report, 'u') as {
      spdxVersion: string;
      SPDXID: string;
      dataLicense: string;
      creationInfo: { created: string; creators: string[] };
      packages: {
        SPDXID: string;
        name: string;
        downloadLocation: string;
        externalRefs?: { referenceLocator: string }[];
      }[];
      relationships: { relationshipType: string; relatedSpdxElement: string }[];
    };
    expect([d.spdxVersion, d.SPDXID, d.dataLicense]).toEqual(['SPDX-2.3', 'SPDXRef-DOCUMENT', 'CC0-1.0']);
    expect(d.creationInfo.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (const p of d.packages) {
      expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
      expect(p.downloadLocation).toBe('NOASSERTION');
    }
    expect(d.packages.slice(1).map((p) => p.externalRefs![0].referenceLocator)).toEqual(
      report.packages.map((p) => p.purl),
    );
    expect(d.relationships.filter((r) => r.relationshipType === 'CONTAINS')).toHaveLength(2);
    const v = spdxValidator();
    if (v) {
      expect(violations(v, d)).toEqual([]);
      expect(violations(v, { ...d, creationInfo: { created: d.creationInfo.created } })).not.toEqual([]);
    }
  });
});

describe('SARIF 2.1.0', () => {
  it('one rule per rule id with security-severity, results located by path and image@layer', () => {
    const s = toSarif(report) as {
      version: string;
      runs: {
        tool: { driver: { rules: { id: string; properties: Record<string, unknown> }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } };
            logicalLocations: { fullyQualifiedName: string }[];
          }[];
        }[];
      }[];
    };
    expect(s.version).toBe('2.1.0');
    const run = s.runs[0];
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([
      'DSA-5532-1',
      'secret.aws-access-key',
      'config.runs-as-root',
    ]);
    expect(run.tool.driver.rules[0].properties['security-severity']).toBe('9.8');
    expect(run.results.map((r) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
      ['DSA-5532-1', 0, 'error'],
      ['secret.aws-access-key', 1, 'error'],
      ['config.runs-as-root', 2, 'warning'],
    ]);
    const secret = run.results[1].locations[0];
    expect(secret.physicalLocation).toEqual({
      artifactLocation: { uri: 'app/.env' },
      region: { startLine: 3 },
    });
    expect(secret.logicalLocations[0].fullyQualifiedName).toBe(
      `registry.example.com/team/app:1@${L1}/app/.env`,
    );
  });

  it('is valid against the published schema; a path that is not URI characters is percent-encoded', () => {
    const v = sarifValidator();
    expect(violations(v, toSarif(report))).toEqual([]);
    const odd = 'app/my dir/\u00fc#1 100%?.env';
    const s = toSarif({
      ...report,
      findings: [{ ...report.findings[1], path: odd }, report.findings[2]],
    }) as {
      runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[];
    };
    expect(violations(v, s)).toEqual([]);
    const loc = s.runs[0].results[0].locations[0].physicalLocation;
    expect(loc.artifactLocation.uri).toBe('app/my%20dir/%C3%BC%231%20100%25%3F.env');
    expect(decodeURIComponent(loc.artifactLocation.uri)).toBe(odd);
    // and broken documents are caught (the validation is not vacuous): the path as it was written
    // before (not a URI reference), a region with no start, another version
    loc.artifactLocation.uri = odd;
    expect(violations(v, s).join('\n')).toMatch(/artifactLocation\/uri must match format "uri-reference"/);
    loc.artifactLocation.uri = 'app/.env';
    (loc as { region?: object }).region = { endLine: 3 };
    expect(violations(v, s).join('\n')).toMatch(/region must match a schema in anyOf/);
    expect(violations(v, { ...toSarif(report), version: '2.0.0' })).not.toEqual([]);
  });
});

describe('the table and the summary', () => {
  it('groups by severity, shows fixed versions, and says when no database was used', () => {
    const t = toTable(report);
    expect(t).toMatch(
      /CRITICAL \(1\)\n +DSA-5532-1 +openssl 3\.0\.11-1~deb12u1 \(fixed: 3\.0\.11-1~deb12u2\)/,
    );
    expect(toTable({ ...report, db: null })).toMatch(
      /no vulnerability database: vulnerabilities were NOT checked/,
    );
    expect(summarize(report)).toMatchObject({
      critical: 1,
      high: 0,
      fixable: 1,
      secrets: 1,
      config: 1,
      packages: 2,
      db: { version: 'abc', age_days: 2 },
    });
  });
});
