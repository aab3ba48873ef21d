import { describe, expect, it } from 'vitest';
import { apkParser, wantsApk } from '../../../../src/scan/packages/apk.js';

// The shape of a real Alpine 3.19 lib/apk/db/installed (fields trimmed).
const INSTALLED = `C:Q1/ZGHB0r6xOm3XBd4Ar5Qe1R7CBdU=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407141
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1705935290
c:6b2b4f8b3d4f0e5ab7a4e4f0e6b6b79e7b5a8d0b
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1/cKGwTYRAhVZoTlnEQMJqSWh5iY=

C:Q1BbMb/jD0hKtSb2qHDlsPv3E6GBo=
P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
F:usr/lib
R:libcrypto.so.3
`;

describe('apk installed database', () => {
  it('lists name, version, origin, arch, licence and purl', () => {
    expect(wantsApk('lib/apk/db/installed')).toBe(true);
    expect(wantsApk('lib/apk/db/installed.old')).toBe(false);
    const pkgs = apkParser.parse(Buffer.from(INSTALLED), 'lib/apk/db/installed', {
      layer: 'sha256:a',
      distro: { id: 'alpine', version: '3.19.1' },
    });
    expect(pkgs).toEqual([
      {
        ecosystem: 'apk',
        name: 'musl',
        version: '1.2.4_git20230717-r4',
        source: { name: 'musl' },
        purl: 'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1',
        layer: 'sha256:a',
        path: 'lib/apk/db/installed',
        licenses: ['MIT'],
        distro: { id: 'alpine', version: '3.19.1' },
      },
      {
        ecosystem: 'apk',
        name: 'libcrypto3',
        version: '3.1.4-r5',
        source: { name: 'openssl' },
        purl: 'pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1',
        layer: 'sha256:a',
        path: 'lib/apk/db/installed',
        licenses: ['Apache-2.0'],
        distro: { id: 'alpine', version: '3.19.1' },
      },
    ]);
  });

  it('without os-release the vendor is alpine; garbage and half records give nothing', () => {
    const p = apkParser.parse(Buffer.from('P:busybox\r\nV:1.36.1-r15\r\n'), 'lib/apk/db/installed', {
      layer: 'l',
    });
    expect(p.map((x) => x.purl)).toEqual(['pkg:apk/alpine/busybox@1.36.1-r15']);
    expect(
      apkParser.parse(Buffer.from('P:only-a-name\n\nV:1\n'), 'lib/apk/db/installed', { layer: 'l' }),
    ).toEqual([]);
    expect(apkParser.parse(Buffer.alloc(100_000, 0xff), 'lib/apk/db/installed', { layer: 'l' })).toEqual([]);
  });
});
