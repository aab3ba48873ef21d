/**
 * Issue 14, as the non-root user against a real registry (Debian's docker-registry on 127.0.0.1):
 *   - `moat scan REF` and `moat sbom REF` pull an image the store lacks, as `moat run` does
 *     (the same image.pull request, under the trust policy, progress on stderr); a reference
 *     neither stored nor pullable is IMAGE_NOT_FOUND with a hint, one the registry lacks
 *     REGISTRY_MANIFEST_NOT_FOUND, one the trust policy rejects TRUST_REJECTED (nothing stored);
 *   - the proof item: an OSV database written by the test reports the affected versions that
 *     layer 1 installs, not the fixed ones that a layer 2 upgrades them to, and a VEX statement
 *     suppresses one (exact findings);
 *   - scan records go with their image: `rmi` of one of two names keeps them, of the last drops
 *     them; records of no image are listed by `image fsck` and removed by `image prune`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  needTools,
  startRegistry,
  world,
  writeOciLayout,
  type Registry,
  type World,
} from './registry-helpers.js';

needTools('docker-registry');

const CVSS_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const CVSS_HIGH = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N';
const DEB = {
  id: 'DEBIAN-CVE-2099-2222',
  modified: new Date(Date.now() - 86_400_000).toISOString(),
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
  id: 'GHSA-dddd-eeee-ffff',
  modified: new Date(Date.now() - 86_400_000).toISOString(),
  summary: 'leftpad pads the prototype',
  severity: [{ type: 'CVSS_V3', score: CVSS_HIGH }],
  affected: [
    {
      package: { ecosystem: 'npm', name: 'leftpad' },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }],
    },
  ],
};

type Entry = { name: string; content?: string; mode?: number; dir?: boolean };

async function tarOf(files: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const f of files) {
    if (f.dir) p.entry({ name: f.name, type: 'directory', mode: f.mode ?? 0o755 });
    else p.entry({ name: f.name, mode: f.mode ?? 0o644 }, f.content ?? '');
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const dpkgStatus = (v: string) =>
  `Package: libfoo1\nStatus: install ok installed\nSource: foo\nVersion: ${v}\nArchitecture: amd64\n\n`;
/** A layer installing (or upgrading to) libfoo1 `deb` and leftpad `npm`. */
const install = (deb: string, npm: string): Entry[] => [
  { name: 'var/', dir: true },
  { name: 'var/lib/', dir: true },
  { name: 'var/lib/dpkg/', dir: true },
  { name: 'var/lib/dpkg/status', content: dpkgStatus(deb) },
  { name: 'app/', dir: true },
  { name: 'app/node_modules/', dir: true },
  { name: 'app/node_modules/leftpad/', dir: true },
  {
    name: 'app/node_modules/leftpad/package.json',
    content: JSON.stringify({ name: 'leftpad', version: npm }),
  },
];
const BASE: Entry[] = [
  { name: 'etc/', dir: true },
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
  { name: 'etc/group', content: 'root:x:0:\napp:x:1000:\n' },
  { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
];

let reg: Registry;
let src: World;
let db: string;
let vex: string;
let rejectAll: string;
let home: string;
/** Registry references of the 1-layer (affected) and 2-layer (upgraded) images, and their layers. */
let one: string;
let two: string;
const layers: Record<string, string[]> = {};

interface Finding {
  kind: string;
  rule: string;
  severity: string;
  path?: string;
  layer?: string;
  package?: { name: string; version: string };
  fixed?: string;
  vex?: { status: string; justification?: string; document?: string };
}
interface Report {
  image: { reference: string; digest: string };
  findings: Finding[];
  suppressed: Finding[];
  packages: { ecosystem: string; name: string; version: string; layer: string }[];
}
const brief = (f: Finding) => ({
  rule: f.rule,
  severity: f.severity,
  path: f.path,
  layer: f.layer,
  package: f.package && `${f.package.name} ${f.package.version}`,
  fixed: f.fixed,
});
const records = (w: World) => path.join(w.env.XDG_DATA_HOME!, 'moat', 'storage', 'scan', 'records');
const recordFiles = (w: World) => (existsSync(records(w)) ? readdirSync(records(w)).sort() : []);

beforeAll(async () => {
  reg = await startRegistry();
  src = world('scan-pull-src');
  home = src.env.HOME!;
  const runtime = { User: 'app', Cmd: ['/bin/sh'] };
  const images = {
    one: [await tarOf([...BASE, ...install('1.0-1', '1.2.9')])],
    two: [await tarOf([...BASE, ...install('1.0-1', '1.2.9')]), await tarOf(install('1.2-1', '1.3.0'))],
  };
  for (const [name, tars] of Object.entries(images)) {
    const layout = path.join(home, `scan-pull-${name}`);
    await writeOciLayout(layout, tars, runtime, '1');
    const tar = `${layout}.tar`;
    execFileSync('tar', ['-C', layout, '-cf', tar, '.']);
    const l = await src.moat(['load', '-i', tar]);
    expect(l.code, l.stderr).toBe(0);
    const p = await src.moat(['push', `localhost/scan-pull-${name}:1`, `${reg.host}/scan/${name}:1`]);
    expect(p.code, p.stderr).toBe(0);
    // the layer digests, from the layout's manifest
    const blob = (d: string) => readFileSync(path.join(layout, 'blobs', 'sha256', d.slice(7)), 'utf8');
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(blob(index.manifests[0].digest)) as { layers: { digest: string }[] };
    layers[name] = manifest.layers.map((x) => x.digest);
  }
  one = `${reg.host}/scan/one:1`;
  two = `${reg.host}/scan/two:1`;
  db = path.join(home, 'osv');
  mkdirSync(db);
  writeFileSync(path.join(db, `${DEB.id}.json`), JSON.stringify(DEB));
  writeFileSync(path.join(db, `${NPM.id}.json`), JSON.stringify(NPM));
  vex = path.join(home, 'vex.json');
  writeFileSync(
    vex,
    JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.invalid/vex/scan-pull',
      author: 'e2e',
      timestamp: new Date().toISOString(),
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
  rejectAll = path.join(home, 'reject.json');
  writeFileSync(rejectAll, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: {} } }));
}, 180_000);
afterAll(async () => reg?.stop());

describe('moat scan and moat sbom pull a missing image, as moat run does', () => {
  it('scan of a registry reference not stored: pulled (progress on stderr), scanned, kept with its record', async () => {
    const w = world('scan-pull-a');
    const r = await w.moat(['scan', '--db', db, '--format', 'json', one], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    // the pull's own lines, as moat run shows them, then the scan's
    expect(r.stderr).toMatch(
      new RegExp(
        `^pulling ${one.replace(/[.]/g, '\\.')} \\(1 layer\\(s\\), manifest sha256:[0-9a-f]{12}\\)\n`,
      ),
    );
    expect(r.stderr).toMatch(/: done \d+B\nscanning [0-9a-f]{12}\n$/);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.image.reference).toBe(one);
    expect(rep.findings.map(brief)).toEqual([
      {
        rule: DEB.id,
        severity: 'critical',
        path: 'var/lib/dpkg/status',
        layer: layers.one[0],
        package: 'libfoo1 1.0-1',
        fixed: '1.2-1',
      },
      {
        rule: NPM.id,
        severity: 'high',
        path: 'app/node_modules/leftpad/package.json',
        layer: layers.one[0],
        package: 'leftpad 1.2.9',
        fixed: '1.3.0',
      },
    ]);
    // stored under its name, and scanned again without a pull
    const ls = await w.moat(['images']);
    expect(ls.stdout).toContain(`${reg.host}/scan/one`);
    const again = await w.moat(['scan', '--db', db, '--format', 'json', one]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/pulling/);
    expect((JSON.parse(again.stdout) as Report).findings.map(brief)).toEqual(rep.findings.map(brief));
    expect(recordFiles(w).filter((f) => f.endsWith('.report.json'))).toHaveLength(1);
  }, 180_000);

  it('sbom of the 2-layer image not stored: pulled; the inventory is the upgraded one (layer 2)', async () => {
    const w = world('scan-pull-b');
    const r = await w.moat(['sbom', '--format', 'cyclonedx', two], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const bom = JSON.parse(r.stdout) as { components: { name: string; version: string }[] };
    expect(bom.components.map((c) => `${c.name} ${c.version}`).sort()).toEqual([
      'leftpad 1.3.0',
      'libfoo1 1.2-1',
    ]);
    expect((await w.moat(['images'])).stdout).toContain(`${reg.host}/scan/two`);
  }, 180_000);

  it('the trust policy decides the pull: rejected, TRUST_REJECTED (exit 4), nothing stored', async () => {
    const w = world('scan-pull-trust');
    const r = await w.moat(['scan', '--trust', rejectAll, one], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('[TRUST_REJECTED]');
    const s = await w.moat(['sbom', '--format', 'spdx', '--trust', rejectAll, two], { timeoutMs: 120_000 });
    expect(s.code, s.stderr).toBe(4);
    expect((await w.moat(['images', '--quiet'])).stdout).toBe('');
  }, 120_000);

  it('neither stored nor pullable: IMAGE_NOT_FOUND with its hint; a reference the registry lacks: REGISTRY_MANIFEST_NOT_FOUND', async () => {
    const w = world('scan-pull-none');
    const r = await w.moat(['scan', 'localhost/nothing-here:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'moat: no local image matches "localhost/nothing-here:1", and it names no registry to pull it from [IMAGE_NOT_FOUND]',
    );
    expect(r.stderr).toMatch(/^hint: give a registry reference \(host\/name:tag/m);
    const j = await w.moat(['sbom', '--format', 'spdx', 'nothing-here']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({
      error: { code: 'IMAGE_NOT_FOUND', hint: expect.stringMatching(/registry reference/) },
    });
    const gone = await w.moat(['scan', `${reg.host}/scan/absent:1`], { timeoutMs: 120_000 });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('[REGISTRY_MANIFEST_NOT_FOUND]');
    expect((await w.moat(['images', '--quiet'])).stdout).toBe('');
  }, 120_000);
});

describe('the proof item: an OSV database written by the test', () => {
  it('a layer 2 upgrading the packages clears their findings; a VEX statement suppresses one', async () => {
    const w = world('scan-pull-proof');
    const upgraded = await w.moat(['scan', '--db', db, '--format', 'json', two], { timeoutMs: 120_000 });
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const u = JSON.parse(upgraded.stdout) as Report;
    expect(u.findings).toEqual([]);
    expect(u.suppressed).toEqual([]);
    expect(u.packages.map((p) => `${p.ecosystem} ${p.name} ${p.version} ${p.layer}`).sort()).toEqual([
      `deb libfoo1 1.2-1 ${layers.two[1]}`,
      `npm leftpad 1.3.0 ${layers.two[1]}`,
    ]);

    const v = await w.moat(['scan', '--db', db, '--vex', vex, '--format', 'json', one], {
      timeoutMs: 120_000,
    });
    expect(v.code, v.stderr).toBe(0);
    const rep = JSON.parse(v.stdout) as Report;
    expect(rep.findings.map(brief)).toEqual([
      {
        rule: NPM.id,
        severity: 'high',
        path: 'app/node_modules/leftpad/package.json',
        layer: layers.one[0],
        package: 'leftpad 1.2.9',
        fixed: '1.3.0',
      },
    ]);
    expect(rep.suppressed.map((f) => ({ ...brief(f), vex: f.vex }))).toEqual([
      {
        rule: DEB.id,
        severity: 'critical',
        path: 'var/lib/dpkg/status',
        layer: layers.one[0],
        package: 'libfoo1 1.0-1',
        fixed: '1.2-1',
        vex: {
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          document: 'https://example.invalid/vex/scan-pull',
        },
      },
    ]);
  }, 180_000);
});

describe('scan records go with their image', () => {
  it('rmi of one of two names keeps them, of the last drops them; prune removes records of no image', async () => {
    const w = world('scan-pull-rmi');
    const s = await w.moat(['scan', '--db', db, '--format', 'json', one], { timeoutMs: 120_000 });
    expect(s.code, s.stderr).toBe(0);
    const hex = (JSON.parse(s.stdout) as Report).image.digest.slice(7);
    const mine = () => recordFiles(w).filter((f) => f.startsWith(hex));
    expect(mine()).toHaveLength(2); // the index and the report
    expect((await w.moat(['tag', one, 'localhost/other:1'])).code).toBe(0);
    const a = await w.moat(['rmi', one]);
    expect(a.code, a.stderr).toBe(0);
    expect(mine()).toHaveLength(2);
    const b = await w.moat(['rmi', 'localhost/other:1']);
    expect(b.code, b.stderr).toBe(0);
    expect(mine()).toEqual([]);
    expect(recordFiles(w)).toEqual([]);

    // records of no image (as an interrupted removal or an older moat left them)
    const ghost = 'e'.repeat(64);
    writeFileSync(path.join(records(w), `${ghost}.json`), '{}');
    writeFileSync(path.join(records(w), `${ghost}-${'0'.repeat(32)}.report.json`), '{}');
    const f = await w.moat(['image', 'fsck']);
    expect(f.code, f.stdout).toBe(0);
    expect(f.stdout).toContain(`scan records of no image: sha256:${ghost}\n`);
    const p = await w.moat(['image', 'prune', '--format', 'json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ removedRecords: [`sha256:${ghost}`] });
    expect(recordFiles(w)).toEqual([]);
  }, 180_000);
});
