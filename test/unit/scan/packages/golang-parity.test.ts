/**
 * Parity with `go version -m`: what moat lists for a Go binary put into an image layer (the layer
 * walker, the build-info reader and the inventory, as `moat scan` runs them) against what the Go
 * toolchain prints for the same file, parsed here. Two kinds of binary:
 *   - one built by the test, offline, from a module with dependencies of each kind the build info
 *     records: a local-directory replacement (`replace example.com/dep => ./dep`), a replacement by
 *     another module at a version, and a plain versioned requirement (the last two from a module
 *     cache the test writes itself: GOPROXY=off, GOFLAGS=-mod=mod, CGO_ENABLED=0, GOCACHE and
 *     GOPATH in a temp dir);
 *   - the real Go binaries on this machine (runc, skopeo, podman, docker-registry, docker): those
 *     that are absent are skipped, but at least one must be there.
 * Skipped, saying why, only when `go` is not installed; CI installs Debian's golang-go (.ci/run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageStore } from '../../../../src/image/store.js';
import { scanImage } from '../../../../src/scan/index.js';
import { readGoBuildInfo, type GoBuildInfo, type GoModule } from '../../../../src/scan/packages/golang.js';
import { storeImage, tempDir, tempStore } from '../helpers.js';

const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' });
const haveGo = goVersion.status === 0;
const NO_GO = `go is not installed here (${goVersion.error?.message ?? goVersion.stderr?.trim()}); CI installs golang-go`;

const REAL_BINARIES = [
  '/usr/sbin/runc',
  '/usr/bin/skopeo',
  '/usr/bin/podman',
  '/usr/bin/docker-registry',
  '/usr/local/bin/docker',
  '/usr/bin/docker',
];

interface Mod {
  path: string;
  version: string;
  sum: string;
  replace?: Mod;
}

interface GoVersionM {
  goVersion: string;
  path: string;
  main?: Mod;
  deps: Mod[];
  build: string[];
}

/**
 * `go version -m BINARY`, parsed: `BINARY: go1.x.y`, then the module text, each line indented by
 * a tab: `path`, `mod` and `dep` (path, version, sum), `=>` (the replacement of the line before),
 * `build` (key=value). Go 1.19 prints an empty line after each replaced module.
 */
function goVersionM(bin: string, env: NodeJS.ProcessEnv): GoVersionM {
  const out = execFileSync('go', ['version', '-m', bin], { encoding: 'utf8', env, maxBuffer: 16 << 20 });
  const [first, ...lines] = out.split('\n');
  expect(first.startsWith(`${bin}: `), first).toBe(true);
  const v: GoVersionM = { goVersion: first.slice(bin.length + 2).trim(), path: '', deps: [], build: [] };
  let last: Mod | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    expect(line.startsWith('\t'), line).toBe(true);
    const [word, path = '', version = '', sum = ''] = line.slice(1).split('\t');
    const m: Mod = { path, version, sum };
    if (word === 'path') v.path = path;
    else if (word === 'mod') last = v.main = m;
    else if (word === 'dep') v.deps.push((last = m));
    else if (word === '=>') last!.replace = m;
    else if (word === 'build') v.build.push(line.slice(1 + 'build\t'.length));
    else throw new Error(`go version -m: unexpected line ${JSON.stringify(line)}`);
  }
  return v;
}

/** moat's parse in the same shape (a missing sum is ''). */
function ours(info: GoBuildInfo): GoVersionM {
  const mod = (m: GoModule): Mod => ({
    path: m.path,
    version: m.version,
    sum: m.sum ?? '',
    ...(m.replace ? { replace: mod(m.replace) } : {}),
  });
  return {
    goVersion: info.goVersion,
    path: info.path,
    ...(info.main ? { main: mod(info.main) } : {}),
    deps: info.deps.map(mod),
    build: info.settings.map(([k, v]) => `${k}=${v}`),
  };
}

/** A replacement by a directory (modfile.IsDirectoryPath), not by a module at a version. */
const isDirectory = (p: string): boolean => /^(?:\.\.?(?:[/\\]|$)|[/\\]|[A-Za-z]:)/.test(p);

/**
 * The packages go version -m's output stands for, by the rules moat documents: the main module,
 * each dependency at its version, a replacement by a module at a version in place of the module it
 * replaces, a directory replacement as the module it replaces at `(devel)` (built from a local
 * directory: no version of its own), and `stdlib` at the toolchain's version (go1.19.8 → v1.19.8).
 */
function expected(v: GoVersionM): string[] {
  const out: string[] = [];
  if (v.main) out.push(`${v.main.path} ${v.main.version}`);
  for (const d of v.deps) {
    const r = d.replace;
    if (!r) out.push(`${d.path} ${d.version}`);
    else if (isDirectory(r.path)) out.push(`${d.path} (devel)`);
    else out.push(`${r.path} ${r.version}`);
  }
  const go = /^go(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v.goVersion.split(' ')[0]);
  expect(go, v.goVersion).not.toBeNull();
  out.push(`stdlib v${go![1]}.${go![2]}.${go![3] ?? '0'}`);
  return out.sort();
}

/** A zip of stored entries (what the module cache holds for a module version). */
function zip(entries: { name: string; data: string }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data);
    const name = Buffer.from(e.name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc32(data), 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, data);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc32(data), 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** cmd/go's case encoding of module paths and versions in the module cache (`!` + lower case). */
const caseEncode = (s: string): string => s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);

/**
 * A module version in GOMODCACHE's download cache, as if fetched: go reads it with GOPROXY=off.
 * `files` are the module's files (its go.mod too, unless it has none: a +incompatible version).
 */
function cacheModule(modcache: string, path: string, version: string, files: Record<string, string>): void {
  const dir = join(modcache, 'cache/download', caseEncode(path), '@v');
  mkdirSync(dir, { recursive: true });
  const v = caseEncode(version);
  writeFileSync(join(dir, `${v}.mod`), files['go.mod'] ?? `module ${path}\n`);
  writeFileSync(join(dir, `${v}.info`), JSON.stringify({ Version: version, Time: '2024-01-01T00:00:00Z' }));
  const entries = Object.entries(files).map(([name, data]) => ({ name: `${path}@${version}/${name}`, data }));
  writeFileSync(join(dir, `${v}.zip`), zip(entries));
}

/** A module with one package (named after its last path element) and a go.mod requiring `requires`. */
function library(path: string, requires: string[] = []): Record<string, string> {
  const pkg = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const req = requires.length ? `\nrequire (\n${requires.map((r) => `\t${r}\n`).join('')})\n` : '';
  return {
    'go.mod': `module ${path}\n\ngo 1.19\n${req}`,
    [`${pkg}.go`]: `package ${pkg}\n\nconst Name = "${path}"\n`,
  };
}

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

// Without go, one test says so (its note is the reason) and the comparisons are skipped.
it.runIf(!haveGo)('go version -m is available', (t) => t.skip(NO_GO));

describe.skipIf(!haveGo)('parity with go version -m', () => {
  let store: ImageStore;
  const cleanups: (() => Promise<void>)[] = [];
  let env: NodeJS.ProcessEnv = {};
  let work = '';
  beforeAll(async () => {
    const s = await tempStore();
    store = s.store;
    cleanups.push(s.cleanup);
    const t = await tempDir('moat-go-parity-');
    cleanups.push(t.cleanup);
    work = t.dir;
    env = {
      ...process.env,
      // -modcacherw: the module cache go extracts stays writable, so the temp dir can be removed.
      GOFLAGS: '-mod=mod -modcacherw',
      GOPROXY: 'off',
      GOSUMDB: 'off',
      GOCACHE: join(work, 'gocache'),
      GOPATH: join(work, 'gopath'),
      GOMODCACHE: join(work, 'gopath/pkg/mod'),
      GOENV: 'off',
      GOWORK: 'off',
      GO111MODULE: 'on',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
    };
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** moat's packages for `bin` as a file of an image layer (the walker, then the inventory). */
  async function inventory(bin: Buffer): Promise<{ name: string; version: string; purl: string }[]> {
    const file = 'usr/local/bin/app';
    const img = await storeImage(
      store,
      [
        [
          { name: 'usr/', type: 'directory' },
          { name: 'usr/local/', type: 'directory' },
          { name: 'usr/local/bin/', type: 'directory' },
          { name: file, content: bin, mode: 0o755 },
        ],
      ],
      { gzip: false },
    );
    const r = await scanImage(store, img.record, { cache: false });
    expect(r.notes).toEqual([]);
    return r.packages.filter((p) => p.path === file && p.ecosystem === 'golang');
  }

  async function compare(bin: string): Promise<GoVersionM> {
    const go = goVersionM(bin, env);
    const buf = readFileSync(bin);
    // The build info as read: module paths, versions, sums, replacements, settings, toolchain.
    expect(ours(readGoBuildInfo(buf)!)).toEqual(go);
    // The inventory of the binary in a layer.
    const pkgs = await inventory(buf);
    expect(pkgs.map((p) => `${p.name} ${p.version}`).sort()).toEqual(expected(go));
    return go;
  }

  it('a module built offline with a directory replacement, a versioned replacement and a plain requirement', async () => {
    const app = join(work, 'app');
    write(app, {
      'go.mod': [
        'module example.com/app',
        '',
        'go 1.19',
        '',
        'require (',
        '\texample.com/dep v1.2.3',
        '\texample.com/other v0.4.0',
        '\texample.com/plain v0.3.1',
        ')',
        '',
        'replace example.com/dep => ./dep',
        '',
        'replace example.com/other => example.com/fork v1.0.0',
        '',
      ].join('\n'),
      'main.go': [
        'package main',
        '',
        'import (',
        '\t"fmt"',
        '',
        '\t"example.com/dep"',
        '\tother "example.com/other"',
        '\t"example.com/plain"',
        ')',
        '',
        'func main() { fmt.Println(dep.Hello(), other.Name, plain.Name) }',
        '',
      ].join('\n'),
      'dep/go.mod': 'module example.com/dep\n\ngo 1.19\n',
      'dep/dep.go': 'package dep\n\nfunc Hello() string { return "hello" }\n',
    });
    cacheModule(env.GOMODCACHE!, 'example.com/fork', 'v1.0.0', library('example.com/fork'));
    cacheModule(env.GOMODCACHE!, 'example.com/plain', 'v0.3.1', library('example.com/plain'));
    const bin = join(work, 'app.bin');
    execFileSync('go', ['build', '-o', bin, '.'], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 240_000,
    });

    const go = await compare(bin);
    // What the build recorded, so that the comparison above is not vacuous.
    expect(go.main).toEqual({ path: 'example.com/app', version: '(devel)', sum: '' });
    expect(go.deps.map((d) => [d.path, d.version, d.replace?.path ?? '', d.replace?.version ?? ''])).toEqual([
      ['example.com/dep', 'v1.2.3', './dep', '(devel)'],
      ['example.com/other', 'v0.4.0', 'example.com/fork', 'v1.0.0'],
      ['example.com/plain', 'v0.3.1', '', ''],
    ]);
    expect(go.deps[1].replace!.sum).toMatch(/^h1:/);
    expect(go.deps[2].sum).toMatch(/^h1:/);
    const pkgs = await inventory(readFileSync(bin));
    expect(pkgs.map((p) => p.purl).sort()).toEqual([
      'pkg:golang/example.com/app',
      'pkg:golang/example.com/dep',
      'pkg:golang/example.com/fork@v1.0.0',
      'pkg:golang/example.com/plain@v0.3.1',
      `pkg:golang/stdlib@${expected(go)
        .find((p) => p.startsWith('stdlib '))!
        .slice(7)}`,
    ]);
  }, 300_000);

  it('a module installed at a version (go install pkg@version): mixed-case path, +incompatible, pseudo-version', async () => {
    const deps = [
      'example.com/BurntSushi/toml v1.3.2',
      'example.com/old v2.0.0+incompatible',
      'example.com/pseudo v0.0.0-20240101000000-abcdefabcdef',
    ];
    cacheModule(
      env.GOMODCACHE!,
      'example.com/BurntSushi/toml',
      'v1.3.2',
      library('example.com/BurntSushi/toml'),
    );
    const { 'go.mod': _none, ...old } = library('example.com/old');
    cacheModule(env.GOMODCACHE!, 'example.com/old', 'v2.0.0+incompatible', old);
    cacheModule(
      env.GOMODCACHE!,
      'example.com/pseudo',
      'v0.0.0-20240101000000-abcdefabcdef',
      library('example.com/pseudo'),
    );
    cacheModule(env.GOMODCACHE!, 'example.com/tool', 'v1.0.0', {
      'go.mod': library('example.com/tool', deps)['go.mod'],
      'main.go': [
        'package main',
        '',
        'import (',
        '\t"fmt"',
        '',
        '\t"example.com/BurntSushi/toml"',
        '\t"example.com/old"',
        '\t"example.com/pseudo"',
        ')',
        '',
        'func main() { fmt.Println(toml.Name, old.Name, pseudo.Name) }',
        '',
      ].join('\n'),
    });
    const gobin = join(work, 'bin');
    execFileSync('go', ['install', 'example.com/tool@v1.0.0'], {
      cwd: work,
      env: { ...env, GOBIN: gobin },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 240_000,
    });
    const bin = join(gobin, 'tool');

    const go = await compare(bin);
    expect(go.main).toMatchObject({ path: 'example.com/tool', version: 'v1.0.0' });
    expect(go.main!.sum).toMatch(/^h1:/);
    expect(go.deps.map((d) => `${d.path} ${d.version}`)).toEqual(deps);
    const pkgs = await inventory(readFileSync(bin));
    expect(pkgs.map((p) => p.purl).sort()).toEqual([
      'pkg:golang/example.com/burntsushi/toml@v1.3.2',
      'pkg:golang/example.com/old@v2.0.0%2Bincompatible',
      'pkg:golang/example.com/pseudo@v0.0.0-20240101000000-abcdefabcdef',
      'pkg:golang/example.com/tool@v1.0.0',
      `pkg:golang/stdlib@${expected(go)
        .find((p) => p.startsWith('stdlib '))!
        .slice(7)}`,
    ]);
  }, 300_000);

  const present = REAL_BINARIES.filter((b) => existsSync(b));
  it('finds at least one real Go binary on this machine', () => {
    expect(present, `none of ${REAL_BINARIES.join(', ')}`).not.toEqual([]);
  });
  for (const bin of REAL_BINARIES) {
    it.skipIf(!existsSync(bin))(
      `${bin}${existsSync(bin) ? '' : ' (absent)'}`,
      async () => {
        const go = await compare(bin);
        expect(go.path).not.toBe('');
      },
      120_000,
    );
  }
});
