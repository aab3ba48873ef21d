/**
 * Issue 14 on the run path and the CI gate, as the non-root user: an image the test builds with a
 * crafted layer (a fake AWS key pair made now, a setuid file, a dpkg status whose package an OSV
 * database written by the test marks vulnerable). `moat scan` lists the findings, `moat sbom`
 * the package; `moat run` under `{moat: {max_critical: 0}}` is refused (exit 3) and a second run
 * reads the recorded report (nothing is scanned or written again); a VEX document suppresses the
 * finding; `moat check` exits 0/3/4/6 on an OCI layout directory and on a registry image.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sarifValidator, spdxValidator, violations } from '../helpers/report-schemas.js';
import { moat } from './moat.js';
import { withData } from './policy-trust-helpers.js';
import {
  needTools,
  startRegistry,
  world,
  writeOciLayout,
  type Registry,
  type World,
} from './registry-helpers.js';

needTools('docker-registry');

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const rand = (n: number, a: string) => Array.from({ length: n }, () => a[randomInt(a.length)]).join('');

const STATUS = [
  'Package: libfoo1',
  'Status: install ok installed',
  'Source: foo',
  'Version: 1.0-1',
  'Architecture: amd64',
  '',
].join('\n');

const OSV = {
  id: 'DEBIAN-CVE-2099-4242',
  modified: new Date(Date.now() - 2 * 86_400_000).toISOString(),
  summary: 'foo overflows its buffer',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  affected: [
    {
      package: { ecosystem: 'Debian:12', name: 'foo' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0-2' }] }],
    },
  ],
};

async function tarOf(files: { name: string; content?: string; mode?: number; type?: 'directory' }[]) {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const f of files) {
    const header = {
      name: f.name,
      mode: f.mode ?? (f.type ? 0o755 : 0o644),
      type: f.type ?? 'file',
    } as const;
    if (f.type) p.entry(header);
    else p.entry(header, f.content ?? '');
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

let reg: Registry;
let w: World;
let layout: string;
let db: string;
let vex: string;
let policyDir: string;
let awsId: string;
const IMG = 'localhost/scan-crafted:1';

beforeAll(async () => {
  reg = await startRegistry();
  w = world('scan');
  const home = w.env.HOME!;
  awsId = 'AKIA' + rand(16, UPPER);
  const crafted = await tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
    { name: 'var/', type: 'directory' },
    { name: 'var/lib/', type: 'directory' },
    { name: 'var/lib/dpkg/', type: 'directory' },
    { name: 'var/lib/dpkg/status', content: STATUS },
    { name: 'app/', type: 'directory' },
    { name: 'app/.env', content: `AWS_ACCESS_KEY_ID=${awsId}\nAWS_SECRET_ACCESS_KEY=${rand(40, B64)}\n` },
    // a path that is not URI characters (SARIF's artifact URI encodes it)
    { name: 'app/conf d/', type: 'directory' },
    { name: 'app/conf d/#1.env', content: `AWS_ACCESS_KEY_ID=${'AKIA' + rand(16, UPPER)}\n` },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/local/', type: 'directory' },
    { name: 'usr/local/bin/', type: 'directory' },
    { name: 'usr/local/bin/helper', content: '#!/bin/sh\nexit 0\n', mode: 0o4755 },
  ]);
  layout = path.join(home, 'scan-crafted');
  await writeOciLayout(
    layout,
    [readFileSync(path.join(inject('moatEnv').base, 'rootfs.tar')), crafted],
    {
      Cmd: ['/bin/sh'],
    },
    '1',
  );
  db = path.join(home, 'osv');
  mkdirSync(db);
  writeFileSync(path.join(db, `${OSV.id}.json`), JSON.stringify(OSV));
  vex = path.join(home, 'vex.json');
  writeFileSync(
    vex,
    JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.invalid/vex/scan-e2e',
      author: 'e2e',
      timestamp: new Date().toISOString(),
      version: 1,
      statements: [
        {
          vulnerability: { name: OSV.id },
          products: [{ '@id': 'pkg:deb/debian/libfoo1@1.0-1?arch=amd64&distro=debian-12' }],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
        },
      ],
    }),
  );
  // the default policy with {max_critical: 0}, as a directory for moat check --policy
  policyDir = path.join(home, 'policy');
  mkdirSync(policyDir);
  copyFileSync(
    path.join(inject('moatEnv').root, 'policies', 'authz.rego'),
    path.join(policyDir, 'authz.rego'),
  );
  writeFileSync(path.join(policyDir, 'data.json'), JSON.stringify({ moat: { max_critical: 0 } }));

  // the image in the world's store: moat load of a tar of the layout
  const tar = path.join(home, 'scan-crafted.tar');
  execFileSync('tar', ['-C', layout, '-cf', tar, '.']);
  const l = await w.moat(['load', '-i', tar]);
  expect(l.code, l.stderr).toBe(0);
  expect(l.stdout).toContain(`Loaded image: ${IMG}`);
  const p = await w.moat(['push', IMG, `${reg.host}/scan/crafted:1`]);
  expect(p.code, p.stderr).toBe(0);
}, 180_000);
afterAll(async () => reg?.stop());

describe('moat scan and moat sbom', () => {
  it('lists the secret, the setuid file and the vulnerable package (json); exit 0', async () => {
    const r = await w.moat(['scan', '--db', db, '--format', 'json', IMG]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as {
      findings: { kind: string; rule: string; path?: string; severity: string; detail?: string }[];
      db: { records: number } | null;
    };
    expect(rep.db?.records).toBe(1);
    const by = (k: string) => rep.findings.filter((f) => f.kind === k);
    expect(by('vulnerability')).toMatchObject([
      { rule: OSV.id, severity: 'critical', path: 'var/lib/dpkg/status' },
    ]);
    expect(by('secret').map((f) => f.path)).toContain('app/.env');
    expect(by('secret').some((f) => f.rule.startsWith('secret.aws'))).toBe(true);
    // never the secret itself
    expect(r.stdout).not.toContain(awsId);
    expect(by('permission').some((f) => f.path === 'usr/local/bin/helper' && /setuid/.test(f.rule))).toBe(
      true,
    );

    const t = await w.moat(['scan', IMG]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/no vulnerability database/);
  }, 120_000);

  it('moat scan --format sarif is valid against the published SARIF 2.1.0 schema', async () => {
    const r = await w.moat(['scan', '--db', db, '--format', 'sarif', IMG]);
    expect(r.code, r.stderr).toBe(0);
    const sarif = JSON.parse(r.stdout) as {
      runs: {
        results: {
          ruleId: string;
          locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
        }[];
      }[];
    };
    expect(violations(sarifValidator(), sarif)).toEqual([]);
    const uris = sarif.runs[0].results.map((x) => x.locations[0].physicalLocation.artifactLocation.uri);
    expect(uris).toEqual(
      expect.arrayContaining(['var/lib/dpkg/status', 'app/.env', 'app/conf%20d/%231.env']),
    );
    expect(r.stdout).not.toContain(awsId);
  }, 120_000);

  it('moat sbom --format spdx lists the package (valid SPDX 2.3 when MOAT_SPDX_SCHEMA names the schema)', async () => {
    const r = await w.moat(['sbom', '--format', 'spdx', IMG]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      spdxVersion: string;
      packages: { name: string; versionInfo: string; externalRefs?: { referenceLocator: string }[] }[];
    };
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.packages.find((p) => p.name === 'libfoo1')).toMatchObject({
      versionInfo: '1.0-1',
      externalRefs: [{ referenceLocator: expect.stringMatching(/^pkg:deb\/debian\/libfoo1@1\.0-1/) }],
    });
    const v = spdxValidator();
    if (v) expect(violations(v, doc)).toEqual([]);
  }, 60_000);

  it('moat sbom --format cyclonedx lists the package', async () => {
    const r = await w.moat(['sbom', '--format', 'cyclonedx', IMG]);
    expect(r.code, r.stderr).toBe(0);
    const bom = JSON.parse(r.stdout) as {
      bomFormat: string;
      components: { name: string; version: string; purl: string }[];
    };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.components.find((c) => c.name === 'libfoo1')).toMatchObject({
      version: '1.0-1',
      purl: expect.stringMatching(/^pkg:deb\/debian\/libfoo1@1\.0-1/),
    });
  }, 60_000);
});

describe('moat run scans first, and the policy reads the report', () => {
  it('refuses the image under max_critical 0 (exit 3); the second run is a lookup; VEX lets it run', async () => {
    const env = { ...withData(w, { moat: { max_critical: 0 } }), MOAT_VULN_DB: db };
    const a = await moat(['run', '--rm', IMG, 'true'], { env });
    expect(a.code, a.stderr).toBe(3);
    expect(a.stderr).toMatch(/POLICY_DENIED/);
    expect(a.stderr).toMatch(/1 critical vulnerabilities \(max 0\)/);
    const records = path.join(w.env.XDG_DATA_HOME!, 'moat', 'storage', 'scan', 'records');
    const index = readdirSync(records).filter((f) => /^[0-9a-f]{64}\.json$/.test(f));
    expect(index).toHaveLength(1);
    const before = statSync(path.join(records, index[0])).mtimeMs;
    const reports = readdirSync(records).length;
    const b = await moat(['run', '--rm', IMG, 'true'], { env });
    expect(b.code, b.stderr).toBe(3);
    // a lookup: no scan was recorded again
    expect(statSync(path.join(records, index[0])).mtimeMs).toBe(before);
    expect(readdirSync(records).length).toBe(reports);

    const ok = await moat(['run', '--rm', IMG, 'echo', 'admitted'], { env: { ...env, MOAT_VEX: vex } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('admitted\n');

    // no database while a threshold is set: refused with the reason
    const nodb = await moat(['run', '--rm', IMG, 'true'], {
      env: withData(w, { moat: { max_critical: 0 } }),
    });
    expect(nodb.code, nodb.stderr).toBe(3);
    expect(nodb.stderr).toMatch(/no vulnerability database/);
    // no threshold: runs as before
    const plain = await moat(['run', '--rm', IMG, 'true'], { env: w.env });
    expect(plain.code, plain.stderr).toBe(0);
  }, 180_000);
});

describe('moat check', () => {
  const check = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const env = { ...w.env, XDG_CACHE_HOME: path.join(w.env.HOME!, 'cache'), ...extra };
    return moat(['check', '--policy', policyDir, '--format', 'json', ...args], { env, timeoutMs: 120_000 });
  };
  const trustFile = (requirements: unknown[]) => {
    const f = path.join(w.env.HOME!, `trust-${randomInt(1e9)}.json`);
    writeFileSync(f, JSON.stringify({ default: requirements, transports: { docker: {} } }));
    return f;
  };

  for (const kind of ['layout', 'registry'] as const) {
    it(`${kind}: 3 on findings, 0 with VEX, 6 without a database, 4 when the trust policy rejects`, async () => {
      const ref = kind === 'layout' ? layout : `${reg.host}/scan/crafted:1`;
      const denied = await check(['--db', db, ref]);
      expect(denied.code, denied.stderr).toBe(3);
      const d = JSON.parse(denied.stdout) as {
        admitted: boolean;
        code: string;
        reasons: string[];
        scan: { critical: number };
      };
      expect(d).toMatchObject({ admitted: false, code: 'POLICY_DENIED', scan: { critical: 1 } });
      expect(d.reasons).toContain('policy: image has 1 critical vulnerabilities (max 0)');

      const admitted = await check(['--db', db, '--vex', vex, ref]);
      expect(admitted.code, admitted.stderr).toBe(0);
      expect(JSON.parse(admitted.stdout)).toMatchObject({ admitted: true, exit: 0, scan: { critical: 0 } });

      const nodb = await check([ref]);
      expect(nodb.code, nodb.stderr).toBe(6);
      expect(JSON.parse(nodb.stdout)).toMatchObject({ code: 'SCAN_NO_DATABASE', scan: { db: null } });

      const rejected = await check(['--db', db, '--trust', trustFile([{ type: 'reject' }]), ref]);
      expect(rejected.code, rejected.stderr).toBe(4);
      expect(JSON.parse(rejected.stdout)).toMatchObject({ admitted: false, trust: { accepted: false } });

      // sarif carries the verdict beside the findings
      const s = await check(['--db', db, ref, '--format', 'sarif']);
      expect(s.code).toBe(3);
      const sarif = JSON.parse(s.stdout) as {
        version: string;
        runs: { invocations: { exitCode: number }[] }[];
      };
      expect(sarif.version).toBe('2.1.0');
      expect(sarif.runs[0].invocations[0].exitCode).toBe(3);
      expect(violations(sarifValidator(), sarif)).toEqual([]);
      const rs = await check([
        '--db',
        db,
        '--trust',
        trustFile([{ type: 'reject' }]),
        ref,
        '--format',
        'sarif',
      ]);
      expect(rs.code).toBe(4);
      expect(violations(sarifValidator(), JSON.parse(rs.stdout))).toEqual([]);

      // the temporary stores are gone; the user's store has no new image
      expect(
        readdirSync(path.join(w.env.HOME!, 'cache', 'moat')).filter((n) => n.startsWith('check-')),
      ).toEqual([]);
    }, 240_000);
  }
});
