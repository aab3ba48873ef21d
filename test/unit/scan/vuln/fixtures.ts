/**
 * An OSV database written by the tests: records for each ecosystem, and the three forms a
 * database comes in (a directory, a zip as osv.dev exports them, a tar.gz).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { crc32 } from '../../../../src/scan/zip.js';
import type { Package } from '../../../../src/scan/types.js';

const V31 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'; // 9.8 critical
const V31_MED = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N'; // 6.1 medium

export const RECORDS: Record<string, unknown>[] = [
  {
    id: 'GHSA-lodash-0001',
    aliases: ['CVE-2021-0001'],
    modified: '2024-03-01T00:00:00Z',
    summary: 'Prototype pollution in lodash',
    severity: [{ type: 'CVSS_V3', score: V31 }],
    affected: [
      {
        package: { ecosystem: 'npm', name: 'lodash' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
      },
    ],
    details: 'long text that the index does not keep',
    references: [{ type: 'WEB', url: 'https://example.invalid' }],
  },
  {
    id: 'PYSEC-2024-1',
    aliases: ['CVE-2024-0100', 'GHSA-django-0100'],
    modified: '2024-05-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'PyPI', name: 'Django_Foo' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { last_affected: '1.2.5' }] }],
      },
    ],
  },
  {
    id: 'GHSA-django-0100',
    aliases: ['CVE-2024-0100'],
    modified: '2024-05-02T00:00:00Z',
    summary: 'SQL injection in django-foo',
    database_specific: { severity: 'MODERATE' },
    affected: [
      {
        package: { ecosystem: 'PyPI', name: 'django-foo' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { fixed: '1.2.6' }] }],
      },
    ],
  },
  {
    id: 'DEBIAN-CVE-2023-0002',
    modified: '2024-06-30T12:00:00Z',
    severity: [{ type: 'CVSS_V3', score: V31_MED }],
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: 'openssl' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }],
      },
    ],
  },
  {
    id: 'DEBIAN-CVE-2023-0003',
    modified: '2024-01-01T00:00:00Z',
    affected: [
      {
        // Another release: never matches a Debian 12 package.
        package: { ecosystem: 'Debian:11', name: 'openssl' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9:9.9' }] }],
        ecosystem_specific: { urgency: 'high' },
      },
    ],
  },
  {
    id: 'DEBIAN-CVE-2023-0004',
    modified: '2024-01-01T00:00:00Z',
    affected: [
      {
        // The binary package's name: Debian records name source packages, so this never matches libssl3.
        package: { ecosystem: 'Debian:12', name: 'libssl3' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
      },
    ],
  },
  {
    id: 'ALPINE-CVE-2023-0005',
    modified: '2024-02-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'Alpine:v3.19', name: 'busybox' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.36.1-r16' }] }],
      },
    ],
  },
  {
    id: 'GO-2023-0006',
    aliases: ['CVE-2023-44487'],
    modified: '2024-02-01T00:00:00Z',
    database_specific: { severity: 'HIGH' },
    affected: [
      {
        package: { ecosystem: 'Go', name: 'golang.org/x/net' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.17.0' }] }],
      },
    ],
  },
  {
    id: 'GHSA-log4j-0007',
    aliases: ['CVE-2021-44228'],
    modified: '2024-02-01T00:00:00Z',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H' }],
    affected: [
      {
        package: { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { fixed: '2.15.0' }] }],
      },
    ],
  },
  {
    id: 'OSV-LISTED-0008',
    modified: '2024-02-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, versions: ['1.1.0', '1.1.1'] }],
  },
  {
    id: 'OSV-GIT-0009',
    modified: '2024-02-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'lodash' },
        ranges: [{ type: 'GIT', repo: 'https://example.invalid/lodash', events: [{ introduced: '0' }] }],
      },
    ],
  },
  {
    id: 'GHSA-withdrawn-0010',
    modified: '2024-02-01T00:00:00Z',
    withdrawn: '2024-02-02T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'lodash' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }],
      },
    ],
  },
];

/** The newest `modified` above: the database's age is counted from it. */
export const NEWEST = '2024-06-30T12:00:00Z';

export function pkg(p: Partial<Package> & Pick<Package, 'ecosystem' | 'name' | 'version'>): Package {
  return { purl: `pkg:${p.ecosystem}/${p.name}@${p.version}`, layer: 'sha256:l1', path: 'x', ...p };
}

export const PACKAGES = {
  lodashOld: pkg({ ecosystem: 'npm', name: 'lodash', version: '4.17.20', path: 'app/package-lock.json' }),
  lodashFixed: pkg({ ecosystem: 'npm', name: 'lodash', version: '4.17.21', path: 'app2/package-lock.json' }),
  djangoLast: pkg({ ecosystem: 'pypi', name: 'django-foo', version: '1.2.5' }),
  djangoAfter: pkg({ ecosystem: 'pypi', name: 'Django.Foo', version: '1.2.6' }),
  libssl: pkg({
    ecosystem: 'deb',
    name: 'libssl3',
    version: '3.0.11-1~deb12u1',
    source: { name: 'openssl' },
    distro: { id: 'debian', version: '12' },
    purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12',
    path: 'var/lib/dpkg/status',
  }),
  libsslFixed: pkg({
    ecosystem: 'deb',
    name: 'libssl3',
    version: '3.0.11-1~deb12u2',
    source: { name: 'openssl' },
    distro: { id: 'debian', version: '12' },
  }),
  busybox: pkg({
    ecosystem: 'apk',
    name: 'busybox-binsh',
    version: '1.36.1-r15',
    source: { name: 'busybox' },
    distro: { id: 'alpine', version: '3.19.1' },
  }),
  xnet: pkg({ ecosystem: 'golang', name: 'golang.org/x/net', version: 'v0.15.0' }),
  log4j: pkg({
    ecosystem: 'maven',
    name: 'log4j-core',
    version: '2.14.1',
    purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
  }),
  leftPad: pkg({ ecosystem: 'npm', name: 'left-pad', version: '1.1.1' }),
};

const fileName = (r: Record<string, unknown>) => `${String(r.id)}.json`;

export function writeDir(dir: string, records = RECORDS): void {
  mkdirSync(dir, { recursive: true });
  for (const r of records) writeFileSync(path.join(dir, fileName(r)), JSON.stringify(r, null, 2));
}

/** A zip as osv.dev's exports are: one deflated .json per record at the top level. */
export function zipOf(files: [string, Buffer][], method: 0 | 8 = 8): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const body = method === 8 ? deflateRawSync(data) : data;
    const n = Buffer.from(name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc32(data), 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc32(data), 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(n.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, n, body);
    centrals.push(ch, n);
    offset += 30 + n.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export function recordFiles(records = RECORDS): [string, Buffer][] {
  return records.map((r) => [fileName(r), Buffer.from(JSON.stringify(r))]);
}

export async function tarGzOf(files: [string, Buffer][]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  p.entry({ name: 'osv/', type: 'directory' });
  for (const [name, data] of files) p.entry({ name: `osv/${name}`, size: data.length }, data);
  p.entry({ name: 'osv/README.txt' }, 'not a record');
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}
