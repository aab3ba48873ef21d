import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dpkgParser, parseDpkgSource, wantsDpkg } from '../../../../src/scan/packages/dpkg.js';
import { distroFromFiles, parseOsRelease } from '../../../../src/scan/packages/os-release.js';

const ctx = { layer: 'sha256:l1', distro: { id: 'debian', version: '12' } };

const STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: attr
Status: hold ok installed
Architecture: amd64
Source: attr (1:2.5.1-4)
Version: 1:2.5.1-4+b1

Package: oldthing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: halfway
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0-1

Package: libc6
Status: install ok installed
Architecture: i386
Source: glibc
Version: 2.36-9+deb12u4
`;

describe('dpkg status', () => {
  it('lists installed packages with version, source, arch and purl', () => {
    const pkgs = dpkgParser.parse(Buffer.from(STATUS), 'var/lib/dpkg/status', ctx);
    expect(pkgs.map((p) => `${p.name} ${p.version}`)).toEqual([
      'libc6 2.36-9+deb12u4',
      'attr 1:2.5.1-4+b1',
      'libc6 2.36-9+deb12u4',
    ]);
    expect(pkgs[0]).toMatchObject({
      ecosystem: 'deb',
      source: { name: 'glibc' },
      distro: { id: 'debian', version: '12' },
      layer: 'sha256:l1',
      path: 'var/lib/dpkg/status',
      purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12',
    });
    expect(pkgs[1].source).toEqual({ name: 'attr', version: '1:2.5.1-4' });
    // The purl spec's own example: the epoch's colon is never encoded, `+` is.
    expect(pkgs[1].purl).toBe('pkg:deb/debian/attr@1:2.5.1-4%2Bb1?arch=amd64&distro=debian-12');
    expect(pkgs[2].purl).toBe('pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=i386&distro=debian-12');
  });

  it('reads distroless status.d files (no Status field) and not their md5sums', () => {
    expect(wantsDpkg('var/lib/dpkg/status')).toBe(true);
    expect(wantsDpkg('var/lib/dpkg/status.d/base')).toBe(true);
    expect(wantsDpkg('var/lib/dpkg/status.d/base.md5sums')).toBe(false);
    expect(wantsDpkg('var/lib/dpkg/status-old')).toBe(false);
    expect(wantsDpkg('var/lib/dpkg/status.d/x/y')).toBe(false);
    const pkgs = dpkgParser.parse(
      Buffer.from('Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n'),
      'var/lib/dpkg/status.d/tzdata',
      { layer: 'sha256:l2', distro: { id: 'debian', version: '12' } },
    );
    expect(pkgs).toHaveLength(1);
    expect(pkgs[0].purl).toBe('pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12');
  });

  it('uses the vendor from os-release (ubuntu) and works without a distro', () => {
    const d = parseOsRelease(
      Buffer.from('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n'),
    );
    expect(d).toEqual({ id: 'ubuntu', version: '22.04' });
    const one = 'Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.1-6ubuntu1\n';
    expect(dpkgParser.parse(Buffer.from(one), 'var/lib/dpkg/status', { layer: 'l', distro: d })[0].purl).toBe(
      'pkg:deb/ubuntu/bash@5.1-6ubuntu1?arch=amd64&distro=ubuntu-22.04',
    );
    const none = dpkgParser.parse(Buffer.from(one), 'var/lib/dpkg/status', { layer: 'l' })[0];
    expect(none.purl).toBe('pkg:deb/debian/bash@5.1-6ubuntu1?arch=amd64');
    expect(none.distro).toBeUndefined();
  });

  it('parses Source with and without a version', () => {
    expect(parseDpkgSource('glibc')).toEqual({ name: 'glibc' });
    expect(parseDpkgSource('gcc-12 (12.2.0-14)')).toEqual({ name: 'gcc-12', version: '12.2.0-14' });
    expect(parseDpkgSource('bad (')).toBeUndefined();
  });

  it('os-release: quoting, comments, sid without VERSION_ID, etc/ before usr/lib/', () => {
    expect(parseOsRelease(Buffer.from('# c\nID="debian"\nVERSION_CODENAME=trixie\n'))).toEqual({
      id: 'debian',
      version: 'trixie',
    });
    expect(parseOsRelease(Buffer.from("ID='alpine'\nVERSION_ID=3.19.1\n"))).toEqual({
      id: 'alpine',
      version: '3.19.1',
    });
    expect(parseOsRelease(Buffer.from('NAME=x\n'))).toBeUndefined();
    const files = new Map([
      ['usr/lib/os-release', Buffer.from('ID=debian\nVERSION_ID=11\n')],
      ['etc/os-release', Buffer.from('ID=debian\nVERSION_ID=12\n')],
    ]);
    expect(distroFromFiles(files)).toEqual({ id: 'debian', version: '12' });
    files.delete('etc/os-release');
    expect(distroFromFiles(files)).toEqual({ id: 'debian', version: '11' });
  });

  it('fails soft on garbage and is linear on a huge database', () => {
    const notes: string[] = [];
    expect(
      dpkgParser.parse(Buffer.from([0xff, 0xfe, 0, 1, 2, 0x0a, 0x3a]), 'var/lib/dpkg/status', {
        layer: 'l',
        notes,
      }),
    ).toEqual([]);
    const para = (i: number): string =>
      `Package: p${i}\nStatus: install ok installed\nVersion: 1.${i}\nDescription: x\n${' line\n'.repeat(20)}\n`;
    const big = Buffer.from(Array.from({ length: 50_000 }, (_, i) => para(i)).join(''));
    const t0 = performance.now();
    const pkgs = dpkgParser.parse(big, 'var/lib/dpkg/status', { layer: 'l' });
    expect(pkgs).toHaveLength(50_000);
    // Linear: ~10 MB in well under a second on an idle machine; generous for a loaded one.
    expect(performance.now() - t0).toBeLessThan(20_000);
    // One paragraph with 200,000 continuation lines: no quadratic string building either way.
    const long = Buffer.from('Package: a\nVersion: 1\nDescription: x\n' + ' y\n'.repeat(200_000));
    expect(dpkgParser.parse(long, 'var/lib/dpkg/status', { layer: 'l' })).toHaveLength(1);
  });
});

// Parity with dpkg itself on this machine's database.
const haveDpkg = existsSync('/var/lib/dpkg/status') && existsSync('/usr/bin/dpkg-query');
describe.skipIf(!haveDpkg)("parity with dpkg-query on this machine's /var/lib/dpkg/status", () => {
  it('lists exactly the installed packages and versions dpkg-query lists', () => {
    const status = readFileSync('/var/lib/dpkg/status');
    const ours = dpkgParser
      .parse(status, 'var/lib/dpkg/status', { layer: 'host' })
      .map((p) => `${p.name} ${p.version}`)
      .sort();
    // dpkg-query -W also lists packages that are removed but keep their conffiles: keep those whose
    // status word is `installed`, as the parser does.
    const out = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Status}\t${Package} ${Version}\n'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const theirs = out
      .split('\n')
      .filter((l) => l.startsWith('installed\t'))
      .map((l) => l.slice('installed\t'.length))
      .sort();
    expect(theirs.length).toBeGreaterThan(50);
    expect(ours).toEqual(theirs);
  });
});
