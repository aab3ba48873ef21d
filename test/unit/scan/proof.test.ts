/**
 * Issue 14's proof item, at the service level with real gzip layers built here and stored in a
 * temp ImageStore: an OSV database written by the test; an affected version is reported, the
 * fixed one is not; a later layer upgrading the package clears it; a VEX statement suppresses it.
 * Two ecosystems, each as its own database reads it: a Debian package (dpkg status, Debian
 * version order) and an npm package (node_modules/<name>/package.json, semver). Findings are
 * asserted whole.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../src/image/store.js';
import type { ImageRecord } from '../../../src/image/types.js';
import type { ScanReport } from '../../../src/scan/report/types.js';
import { scanStored } from '../../../src/scan/service.js';
import { CLEAN_BASE, storeImage, tempDir, tempStore, type TarFile } from './helpers.js';

const CVSS_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const CVSS_HIGH = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N';

const DEB = {
  id: 'DEBIAN-CVE-2099-1111',
  modified: '2024-06-01T00:00:00Z',
  summary: 'foo overflows its buffer',
  severity: [{ type: 'CVSS_V3', score: CVSS_CRITICAL }],
  affected: [
    {
      package: { ecosystem: 'Debian:12', name: 'foo' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2-1' }] }],
    },
  ],
};
const NPM = {
  id: 'GHSA-aaaa-bbbb-cccc',
  modified: '2024-06-02T00:00:00Z',
  summary: 'leftpad pads the prototype',
  severity: [{ type: 'CVSS_V3', score: CVSS_HIGH }],
  affected: [
    {
      package: { ecosystem: 'npm', name: 'leftpad' },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }],
    },
  ],
};

const dpkgStatus = (version: string) =>
  [
    'Package: libfoo1',
    'Status: install ok installed',
    'Source: foo',
    `Version: ${version}`,
    'Architecture: amd64',
    '',
  ].join('\n');

/** A layer installing (or upgrading to) libfoo1 `deb` and leftpad `npm`. */
const install = (deb: string, npm: string): TarFile[] => [
  { name: 'var/', type: 'directory' },
  { name: 'var/lib/', type: 'directory' },
  { name: 'var/lib/dpkg/', type: 'directory' },
  { name: 'var/lib/dpkg/status', content: dpkgStatus(deb) },
  { name: 'app/', type: 'directory' },
  { name: 'app/node_modules/', type: 'directory' },
  { name: 'app/node_modules/leftpad/', type: 'directory' },
  {
    name: 'app/node_modules/leftpad/package.json',
    content: JSON.stringify({ name: 'leftpad', version: npm, license: 'MIT' }),
  },
];
const BASE: TarFile[] = [...CLEAN_BASE, { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' }];

let store: ImageStore;
let affected: { record: ImageRecord; layerDigests: string[] };
let upgraded: { record: ImageRecord; layerDigests: string[] };
let fixed: { record: ImageRecord; layerDigests: string[] };
let db: string;
let vex: string;
const cleanups: (() => Promise<void>)[] = [];
// A home and configuration directory that are certainly missing (not /nonexistent: a machine may have one).
const missing = path.join(mkdtempSync(path.join(tmpdir(), 'moat-nohome-')), 'missing');
const env: NodeJS.ProcessEnv = { HOME: missing, XDG_CONFIG_HOME: missing };

beforeAll(async () => {
  const s = await tempStore();
  cleanups.push(s.cleanup);
  store = s.store;
  const t = await tempDir('moat-scan-proof-');
  cleanups.push(t.cleanup);
  // layer 1 installs the affected versions; the second image adds a layer 2 upgrading both
  affected = await storeImage(store, [[...BASE, ...install('1.0-1', '1.2.9')]]);
  upgraded = await storeImage(store, [[...BASE, ...install('1.0-1', '1.2.9')], install('1.2-1', '1.3.0')]);
  fixed = await storeImage(store, [[...BASE, ...install('1.2-1', '1.3.0')]]);
  db = path.join(t.dir, 'osv');
  mkdirSync(db);
  writeFileSync(path.join(db, `${DEB.id}.json`), JSON.stringify(DEB));
  writeFileSync(path.join(db, `${NPM.id}.json`), JSON.stringify(NPM));
  vex = path.join(t.dir, 'vex.json');
  writeFileSync(
    vex,
    JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.invalid/vex/proof',
      author: 'test',
      timestamp: '2024-07-01T00:00:00Z',
      version: 1,
      statements: [
        {
          vulnerability: { name: DEB.id },
          products: [{ '@id': 'pkg:deb/debian/libfoo1@1.0-1?arch=amd64&distro=debian-12' }],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
        },
      ],
    }),
  );
});
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** A finding as asserted here: what it is, where, from which layer, and how to fix it. */
const brief = (f: ScanReport['findings'][number]) => ({
  kind: f.kind,
  rule: f.rule,
  severity: f.severity,
  path: f.path,
  layer: f.layer,
  package: f.package && `${f.package.name} ${f.package.version}`,
  fixed: f.fixed,
});
const packages = (r: ScanReport) =>
  r.packages.map((p) => `${p.ecosystem} ${p.name} ${p.version} ${p.path} ${p.layer}`).sort();

describe('an OSV database written by the test', () => {
  it('the affected versions (layer 1) are reported, each with its fixed version; nothing else', async () => {
    const r = await scanStored(store, affected.record, { db, env });
    const l1 = affected.layerDigests[0];
    expect(r.findings.map(brief)).toEqual([
      {
        kind: 'vulnerability',
        rule: DEB.id,
        severity: 'critical',
        path: 'var/lib/dpkg/status',
        layer: l1,
        package: 'libfoo1 1.0-1',
        fixed: '1.2-1',
      },
      {
        kind: 'vulnerability',
        rule: NPM.id,
        severity: 'high',
        path: 'app/node_modules/leftpad/package.json',
        layer: l1,
        package: 'leftpad 1.2.9',
        fixed: '1.3.0',
      },
    ]);
    expect(r.suppressed).toEqual([]);
    expect(r.db).toMatchObject({ records: 2 });
  });

  it('a later layer upgrading both packages clears them: no finding, the inventory is layer 2’s', async () => {
    const r = await scanStored(store, upgraded.record, { db, env });
    expect(r.findings.map(brief)).toEqual([]);
    expect(r.suppressed).toEqual([]);
    const l2 = upgraded.layerDigests[1];
    expect(packages(r)).toEqual([
      `deb libfoo1 1.2-1 var/lib/dpkg/status ${l2}`,
      `npm leftpad 1.3.0 app/node_modules/leftpad/package.json ${l2}`,
    ]);
  });

  it('the fixed versions installed directly are not reported', async () => {
    const r = await scanStored(store, fixed.record, { db, env });
    expect(r.findings.map(brief)).toEqual([]);
    expect(packages(r).map((p) => p.split(' ').slice(0, 3).join(' '))).toEqual([
      'deb libfoo1 1.2-1',
      'npm leftpad 1.3.0',
    ]);
  });

  it('a VEX statement suppresses the Debian finding (kept, with the statement), not the npm one', async () => {
    const r = await scanStored(store, affected.record, { db, vex: [vex], env });
    expect(r.findings.map(brief)).toEqual([
      {
        kind: 'vulnerability',
        rule: NPM.id,
        severity: 'high',
        path: 'app/node_modules/leftpad/package.json',
        layer: affected.layerDigests[0],
        package: 'leftpad 1.2.9',
        fixed: '1.3.0',
      },
    ]);
    expect(r.suppressed.map((s) => ({ ...brief(s), vex: s.vex }))).toEqual([
      {
        kind: 'vulnerability',
        rule: DEB.id,
        severity: 'critical',
        path: 'var/lib/dpkg/status',
        layer: affected.layerDigests[0],
        package: 'libfoo1 1.0-1',
        fixed: '1.2-1',
        vex: {
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          document: 'https://example.invalid/vex/proof',
        },
      },
    ]);
  });
});
