import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GoBuildInfoScanner,
  goBinaryParser,
  goBuildInfoPackages,
  goToolchainSemver,
  parseModInfo,
  readGoBuildInfo,
  type GoBuildInfo,
} from '../../../../src/scan/packages/golang.js';

// The binaries of the first part are built by the test from the layout documented in
// debug/buildinfo (no one toolchain makes both layouts in both byte orders): the 32-byte header,
// then either the two strings inline (Go 1.18+) or two pointers to Go string headers (before).
// golang-parity.test.ts compares with `go version -m` itself, on binaries go builds. The module text carries the two
// 16-byte sentinels of cmd/go/internal/modload (infoStart, infoEnd).
const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

const MODINFO = [
  'path\texample.com/cmd/server',
  'mod\texample.com\tv1.4.2\th1:abc=',
  'dep\tgithub.com/BurntSushi/toml\tv1.3.2\th1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=',
  'dep\tgolang.org/x/sys\tv0.15.0',
  '=>\tgithub.com/fork/sys\tv0.15.1\th1:def=',
  'dep\texample.com/local\tv0.0.0',
  '=>\t../local\t',
  'build\t-compiler=gc',
  'build\tCGO_ENABLED=0',
  '',
].join('\n');

const framed = (mod: string): Buffer => Buffer.concat([INFO_START, Buffer.from(mod), INFO_END]);

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A minimal ELF: header, one RW PT_LOAD mapping the whole file at `base`, payload at 0x100. */
function elf(opts: {
  is64: boolean;
  le: boolean;
  payload: (fileOff: (o: number) => number) => Buffer;
}): Buffer {
  const base = 0x400000;
  const ehsize = opts.is64 ? 64 : 52;
  const phentsize = opts.is64 ? 56 : 32;
  const payload = opts.payload((o) => base + o);
  const total = 0x100 + payload.length;
  const b = Buffer.alloc(total);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = opts.is64 ? 2 : 1;
  b[5] = opts.le ? 1 : 2;
  b[6] = 1;
  const w16 = (o: number, v: number): number => (opts.le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const w32 = (o: number, v: number): number => (opts.le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w64 = (o: number, v: number): number =>
    opts.le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o);
  w16(16, 2); // ET_EXEC
  if (opts.is64) {
    w64(0x20, ehsize);
    w16(0x36, phentsize);
    w16(0x38, 1);
    const p = ehsize;
    w32(p, 1); // PT_LOAD
    w32(p + 4, 6); // PF_R|PF_W
    w64(p + 8, 0);
    w64(p + 16, base);
    w64(p + 32, total);
    w64(p + 40, total);
  } else {
    w32(0x1c, ehsize);
    w16(0x2a, phentsize);
    w16(0x2c, 1);
    const p = ehsize;
    w32(p, 1);
    w32(p + 4, 0);
    w32(p + 8, base);
    w32(p + 16, total);
    w32(p + 20, total);
    w32(p + 24, 6);
  }
  payload.copy(b, 0x100);
  return b;
}

function inlineBinary(goVersion: string, mod: Buffer): Buffer {
  return elf({
    is64: true,
    le: true,
    payload: () => {
      const hdr = Buffer.alloc(32);
      MAGIC.copy(hdr);
      hdr[14] = 8;
      hdr[15] = 2;
      const v = Buffer.from(goVersion);
      return Buffer.concat([hdr, uvarint(v.length), v, uvarint(mod.length), mod]);
    },
  });
}

/** Pre-1.18: header at 0x100 with two pointers; string headers at 0x140; data from 0x160. */
function pointerBinary(goVersion: string, mod: Buffer, is64: boolean, le: boolean): Buffer {
  const ptr = is64 ? 8 : 4;
  return elf({
    is64,
    le,
    payload: (vaddr) => {
      const v = Buffer.from(goVersion);
      const p = Buffer.alloc(0x60 + v.length + mod.length);
      MAGIC.copy(p);
      p[14] = ptr;
      p[15] = le ? 0 : 1;
      const wp = (o: number, val: number): void => {
        if (is64) {
          if (le) p.writeBigUInt64LE(BigInt(val), o);
          else p.writeBigUInt64BE(BigInt(val), o);
        } else if (le) p.writeUInt32LE(val, o);
        else p.writeUInt32BE(val, o);
      };
      const at = (o: number): number => vaddr(0x100 + o);
      wp(16, at(0x40));
      wp(16 + ptr, at(0x40 + 2 * ptr));
      wp(0x40, at(0x60));
      wp(0x40 + ptr, v.length);
      wp(0x40 + 2 * ptr, at(0x60 + v.length));
      wp(0x40 + 3 * ptr, mod.length);
      v.copy(p, 0x60);
      mod.copy(p, 0x60 + v.length);
      return p;
    },
  });
}

const ctx = { layer: 'sha256:g' };

function expectExample(info: GoBuildInfo | undefined): void {
  expect(info?.goVersion).toBe('go1.17.13');
  expect(info?.path).toBe('example.com/cmd/server');
  expect(info?.main).toEqual({ path: 'example.com', version: 'v1.4.2', sum: 'h1:abc=' });
  expect(info?.deps.map((d) => d.path)).toEqual([
    'github.com/BurntSushi/toml',
    'golang.org/x/sys',
    'example.com/local',
  ]);
  expect(info?.deps[1].replace).toEqual({ path: 'github.com/fork/sys', version: 'v0.15.1', sum: 'h1:def=' });
  expect(info?.settings).toEqual([
    ['-compiler', 'gc'],
    ['CGO_ENABLED', '0'],
  ]);
}

describe('Go build info, both layouts', () => {
  it('Go 1.18+ inline strings', () => {
    const bin = inlineBinary('go1.17.13', framed(MODINFO));
    expectExample(readGoBuildInfo(bin));
    const pkgs = goBinaryParser.parse(bin, 'usr/local/bin/server', ctx);
    expect(pkgs.map((p) => `${p.name} ${p.version} ${p.purl}`)).toEqual([
      'example.com v1.4.2 pkg:golang/example.com@v1.4.2',
      'github.com/BurntSushi/toml v1.3.2 pkg:golang/github.com/burntsushi/toml@v1.3.2',
      'github.com/fork/sys v0.15.1 pkg:golang/github.com/fork/sys@v0.15.1',
      'example.com/local (devel) pkg:golang/example.com/local',
      'stdlib v1.17.13 pkg:golang/stdlib@v1.17.13',
    ]);
    expect(pkgs[0]).toMatchObject({ ecosystem: 'golang', layer: 'sha256:g', path: 'usr/local/bin/server' });
  });

  it('pre-1.18 pointers: ELF64 little-endian and ELF32 big-endian', () => {
    expectExample(readGoBuildInfo(pointerBinary('go1.17.13', framed(MODINFO), true, true)));
    expectExample(readGoBuildInfo(pointerBinary('go1.17.13', framed(MODINFO), false, false)));
  });

  it('replacements: by a module at a version, by a directory as Go 1.18+ records it (`(devel)`) or older Go did', () => {
    const info = parseModInfo(
      'go1.19.8',
      [
        'path\texample.com/app',
        'mod\texample.com/app\t(devel)\t',
        'dep\texample.com/a\tv1.0.0',
        '=>\t./a\t(devel)\t',
        '',
        'dep\texample.com/b\tv1.0.0',
        '=>\t../b\t',
        'dep\texample.com/c\tv1.0.0',
        '=>\t/src/c\t(devel)\t',
        'dep\texample.com/d\tv1.0.0',
        '=>\tC:\\src\\d\t(devel)\t',
        'dep\texample.com/e\tv1.0.0',
        '=>\texample.com/fork\tv1.1.0\th1:x=',
        '',
      ].join('\n'),
    );
    expect(goBuildInfoPackages(info, 'bin/app', ctx).map((p) => `${p.name} ${p.version}`)).toEqual([
      'example.com/app (devel)',
      'example.com/a (devel)',
      'example.com/b (devel)',
      'example.com/c (devel)',
      'example.com/d (devel)',
      'example.com/fork v1.1.0',
      'stdlib v1.19.8',
    ]);
  });

  it('toolchain versions as OSV counts them', () => {
    expect(goToolchainSemver('go1.21.6')).toBe('v1.21.6');
    expect(goToolchainSemver('go1.21')).toBe('v1.21.0');
    expect(goToolchainSemver('go1.22rc1')).toBe('v1.22.0-rc.1');
    expect(goToolchainSemver('go1.21.6 X:boringcrypto')).toBe('v1.21.6');
    expect(goToolchainSemver('devel +abc')).toBeUndefined();
  });

  it('fails soft: not ELF, not Go, unaligned or truncated headers, absurd lengths, no framing', () => {
    const notes: string[] = [];
    const c = { layer: 'l', notes };
    expect(goBinaryParser.parse(Buffer.from('#!/bin/sh\necho hi\n'), 'bin/x', c)).toEqual([]);
    expect(
      goBinaryParser.parse(elf({ is64: true, le: true, payload: () => Buffer.alloc(64) }), 'bin/x', c),
    ).toEqual([]);
    // No usable header (unaligned, truncated, absurd lengths, pointers into nowhere): the framed
    // module text is still read (no Go version, so no stdlib); without the framing, nothing.
    const modulesOnly = [
      'example.com',
      'github.com/BurntSushi/toml',
      'github.com/fork/sys',
      'example.com/local',
    ];
    const names = (b: Buffer): string[] => goBinaryParser.parse(b, 'bin/x', c).map((p) => p.name);
    for (const mod of [framed(MODINFO), Buffer.from(MODINFO)]) {
      const want = mod.length > MODINFO.length ? modulesOnly : [];
      const good = inlineBinary('go1.21.6', mod);
      // Shifted by 8 bytes: the magic is no longer 16-byte aligned.
      const shifted = Buffer.concat([good.subarray(0, 0x100), Buffer.alloc(8), good.subarray(0x100)]);
      expect(names(shifted)).toEqual(want);
      expect(names(good.subarray(0, 0x100 + 40))).toEqual([]);
      const absurd = Buffer.from(good);
      absurd.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 0x100 + 32);
      expect(names(absurd)).toEqual(want);
      const wild = pointerBinary('go1.17.13', mod, true, true);
      wild.writeBigUInt64LE(0xdeadbeefn, 0x100 + 16);
      expect(names(wild)).toEqual(want);
    }
    // Module text without its sentinels behind a good header: Go reports no modules, only the toolchain.
    const bare = goBinaryParser.parse(inlineBinary('go1.21.6', Buffer.from(MODINFO)), 'bin/x', c);
    expect(bare.map((p) => p.name)).toEqual(['stdlib']);
    expect(notes).toEqual([]);
    // 32 MiB of magic strings at every alignment: no quadratic search.
    const spam = Buffer.alloc(32 * 1024 * 1024);
    for (let o = 0; o + 16 <= spam.length; o += 4096) MAGIC.copy(spam, o + 1);
    const t0 = performance.now();
    expect(goBinaryParser.parse(spam, 'bin/x', c)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(goBinaryParser.sniff?.test(spam)).toBe(false);
    expect(goBinaryParser.wants('usr/bin/x', { mode: 0o100755, size: 1 << 20 })).toBe(true);
    expect(goBinaryParser.wants('etc/x', { mode: 0o100644, size: 1 << 20 })).toBe(false);
  });

  it('the streaming scanner reads the inline layout in any chunking, and asks for the whole file for the old one', () => {
    const bin = inlineBinary('go1.21.6', framed(MODINFO));
    for (const size of [1, 3, 16, 17, 33, 4096, bin.length]) {
      const s = new GoBuildInfoScanner();
      for (let o = 0; o < bin.length; o += size) s.push(bin.subarray(o, o + size));
      expect(s.result().info, `chunks of ${size}`).toEqual(readGoBuildInfo(bin));
    }
    const old = new GoBuildInfoScanner();
    old.push(pointerBinary('go1.17.13', framed(MODINFO), true, true));
    expect(old.result()).toEqual({ needsWholeFile: true });
    const none = new GoBuildInfoScanner();
    none.push(Buffer.from('not an elf at all'));
    expect(none.result()).toEqual({ needsWholeFile: false });
    expect(none.done).toBe(true);
  });
});

// Real Go binaries on this machine, without `go` (golang-parity.test.ts compares them with
// `go version -m`): the module text is plain ASCII lines in the binary, so `strings` (binutils)
// shows the same lines: our parse, written back out in that format, must equal them line for line. These five
// were all built in GOPATH/vendor mode (Debian's packaging, docker's vendor.mod), so their text is
// the main package path and build settings only, with no `mod` or `dep` line: the inventory then
// holds stdlib alone, and the binary's own package comes from dpkg.
const BINARIES: [string, string][] = [
  ['/usr/sbin/runc', 'github.com/opencontainers/runc'],
  ['/usr/bin/skopeo', 'github.com/containers/skopeo/cmd/skopeo'],
  ['/usr/bin/podman', 'github.com/containers/podman/cmd/podman'],
  ['/usr/bin/docker-registry', 'github.com/docker/distribution/cmd/registry'],
  ['/usr/local/bin/docker', 'github.com/docker/cli/cmd/docker'],
  // esbuild (this repository's dev dependency) is built in module mode: mod and dep lines.
  [resolve('node_modules/@esbuild/linux-x64/bin/esbuild'), 'github.com/evanw/esbuild/cmd/esbuild'],
];
const haveStrings = spawnSync('strings', ['--version']).status === 0;

function render(info: GoBuildInfo): string[] {
  const mod = (word: string, m: { path: string; version: string; sum?: string }): string =>
    [word, m.path, ...(m.version ? [m.version] : []), ...(m.sum ? [m.sum] : [])].join('\t');
  const out = [`path\t${info.path}`];
  if (info.main) out.push(mod('mod', info.main));
  for (const d of info.deps) {
    out.push(mod('dep', d));
    if (d.replace) out.push(mod('=>', d.replace));
  }
  for (const [k, v] of info.settings) out.push(`build\t${k}=${v}`);
  return out;
}

/** The first run of module-text lines in the binary's printable strings. */
function stringsModInfo(bin: string): string[] {
  const lines = execFileSync('strings', ['-a', '-n', '4', bin], {
    encoding: 'latin1',
    maxBuffer: 512 * 1024 * 1024,
  }).split('\n');
  const start = lines.findIndex((l) => l.startsWith('path\t'));
  const out: string[] = [];
  for (let i = start; i >= 0 && i < lines.length && /^(path|mod|dep|=>|build)\t/.test(lines[i]); i++)
    out.push(lines[i]);
  return out;
}

describe.skipIf(!haveStrings)('real Go binaries on this machine', () => {
  for (const [bin, main] of BINARIES) {
    it.skipIf(!existsSync(bin))(
      `${bin}: main package ${main}, the module text as the binary's own strings say`,
      () => {
        const buf = readFileSync(bin);
        const info = readGoBuildInfo(buf);
        // esbuild's binary has no build info header (Go's reader finds nothing): the module text only.
        if (!main.includes('esbuild')) expect(info?.goVersion).toMatch(/^go1\.\d+/);
        expect(info?.path).toBe(main);
        const expected = stringsModInfo(bin).map((l) => l.replace(/\t$/, ''));
        expect(expected.length).toBeGreaterThan(3);
        expect(render(info!)).toEqual(expected);
        const pkgs = goBinaryParser.parse(buf, bin.slice(1), ctx);
        expect(pkgs.filter((p) => p.name !== 'stdlib')).toHaveLength(
          (info!.main ? 1 : 0) + info!.deps.length,
        );
        if (info!.goVersion)
          expect(pkgs.at(-1)).toMatchObject({ name: 'stdlib', version: goToolchainSemver(info!.goVersion) });
        if (main.includes('esbuild')) {
          expect(info?.main).toEqual({ path: 'github.com/evanw/esbuild', version: '(devel)' });
          expect(pkgs.map((p) => p.name)).toEqual(['github.com/evanw/esbuild', 'golang.org/x/sys']);
          expect(pkgs[1].purl).toMatch(/^pkg:golang\/golang.org\/x\/sys@v0\.0\.0-/);
        }
        // The stream scanner agrees, in 64 KiB chunks as a tar stream would give them.
        const s = new GoBuildInfoScanner();
        for (let o = 0; o < buf.length && !s.done; o += 65536) s.push(buf.subarray(o, o + 65536));
        expect(s.result().info).toEqual(info!.goVersion ? info : undefined);
      },
    );
  }
});
