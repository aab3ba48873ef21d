import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  npmLockParser,
  npmPackageJsonParser,
  wantsNodeModulesPackageJson,
  wantsPackageLock,
} from '../../../../src/scan/packages/npm.js';

const ctx = { layer: 'sha256:n' };
const nv = (ps: { name: string; version: string }[]): string[] =>
  ps.map((p) => `${p.name}@${p.version}`).sort();

describe('package-lock.json', () => {
  it('v2/v3: nested paths, scopes, aliases; skips root, links, workspaces, dev and other-OS packages', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/debug': { version: '2.6.9', license: 'MIT' },
        'node_modules/debug/node_modules/ms': { version: '2.0.0' },
        'node_modules/ms': { version: '2.1.3' },
        'node_modules/@types/node': { version: '20.1.0' },
        'node_modules/old-name': { name: 'real-name', version: '3.0.0' },
        'node_modules/ws-pkg': { resolved: 'packages/ws-pkg', link: true },
        'packages/ws-pkg': { name: 'ws-pkg', version: '0.0.1' },
        'node_modules/vitest': { version: '3.0.0', dev: true },
        'node_modules/@esbuild/darwin-arm64': { version: '0.20.0', optional: true, os: ['darwin'] },
        'node_modules/@esbuild/linux-x64': { version: '0.20.0', optional: true, os: ['linux'] },
        'node_modules/fsevents': { version: '2.3.3', optional: true, os: ['!linux', '!win32'] },
      },
    };
    const pkgs = npmLockParser.parse(Buffer.from(JSON.stringify(lock)), 'app/package-lock.json', ctx);
    expect(nv(pkgs)).toEqual([
      '@esbuild/linux-x64@0.20.0',
      '@types/node@20.1.0',
      'debug@2.6.9',
      'ms@2.0.0',
      'ms@2.1.3',
      'real-name@3.0.0',
    ]);
    const types = pkgs.find((p) => p.name === '@types/node');
    expect(types?.purl).toBe('pkg:npm/%40types/node@20.1.0');
    expect(pkgs.find((p) => p.name === 'debug')).toMatchObject({
      purl: 'pkg:npm/debug@2.6.9',
      licenses: ['MIT'],
      ecosystem: 'npm',
      layer: 'sha256:n',
      path: 'app/package-lock.json',
    });
  });

  it('v1: nested dependencies, aliases, dev and file: deps', () => {
    const lock = {
      lockfileVersion: 1,
      dependencies: {
        debug: { version: '2.6.9', dependencies: { ms: { version: '2.0.0' } } },
        ms: { version: '2.1.3' },
        '@scope/x': { version: '1.0.0' },
        foo: { version: 'npm:bar@1.2.3' },
        local: { version: 'file:../local' },
        jest: { version: '29.0.0', dev: true },
      },
    };
    const pkgs = npmLockParser.parse(Buffer.from(JSON.stringify(lock)), 'package-lock.json', ctx);
    expect(nv(pkgs)).toEqual(['@scope/x@1.0.0', 'bar@1.2.3', 'debug@2.6.9', 'ms@2.0.0', 'ms@2.1.3']);
  });

  it('wants package-lock.json anywhere, package.json only directly under node_modules/<name>/', () => {
    expect(wantsPackageLock('srv/app/package-lock.json')).toBe(true);
    expect(wantsPackageLock('node_modules/.package-lock.json')).toBe(false);
    for (const p of [
      'node_modules/ms/package.json',
      'usr/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json',
      'app/node_modules/debug/node_modules/ms/package.json',
    ]) {
      expect(wantsNodeModulesPackageJson(p)).toBe(true);
    }
    for (const p of [
      'package.json',
      'node_modules/ms/lib/package.json',
      'node_modules/@scope/package.json',
      'node_modules/.bin/package.json',
      'node_modules/.pnpm/package.json',
    ]) {
      expect(wantsNodeModulesPackageJson(p)).toBe(false);
    }
  });

  it('fails soft on garbage, deep nesting and huge maps', () => {
    const notes: string[] = [];
    expect(
      npmLockParser.parse(Buffer.from('{"packages": '), 'package-lock.json', { layer: 'l', notes }),
    ).toEqual([]);
    expect(notes).toHaveLength(1);
    expect(npmLockParser.parse(Buffer.from('[1,2]'), 'package-lock.json', ctx)).toEqual([]);
    expect(
      npmPackageJsonParser.parse(Buffer.from('{"name": 1}'), 'node_modules/x/package.json', ctx),
    ).toEqual([]);
    // 2,000 levels of v1 nesting would blow a recursive walker's stack.
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 2_000; i++) {
      const next: Record<string, unknown> = {};
      deep.d = { version: '1.0.' + i, dependencies: next };
      deep = next;
    }
    expect(
      npmLockParser.parse(Buffer.from(JSON.stringify({ dependencies: root })), 'package-lock.json', ctx),
    ).toHaveLength(2_000);
    const many: Record<string, unknown> = { '': {} };
    for (let i = 0; i < 100_000; i++) many[`node_modules/p${i}`] = { version: '1.0.0' };
    const t0 = performance.now();
    expect(
      npmLockParser.parse(Buffer.from(JSON.stringify({ packages: many })), 'package-lock.json', ctx),
    ).toHaveLength(100_000);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});

// Parity with npm itself: a real tree installed by `npm ci` from locks npm generated (network to the
// npm registry; skipped, saying so, when npm cannot reach it).
describe('parity with npm ls --all --json', () => {
  // Made in a hook, not at collection: a skipped block leaves nothing behind.
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-npm-parity-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const npm = (...args: string[]): string =>
    execFileSync('npm', args, {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('the locks (v1, v2, v3) and the node_modules tree list what npm ls lists', { timeout: 240_000 }, (t) => {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'parity',
        version: '1.0.0',
        private: true,
        // debug@2 needs ms@2.0.0 while the top level has ms@2.1.3: a nested node_modules.
        dependencies: { debug: '2.6.9', ms: '2.1.3', '@sindresorhus/is': '4.6.0', 'is-number': '7.0.0' },
      }),
    );
    const locks = new Map<number, Buffer>();
    try {
      for (const v of [1, 2, 3]) {
        npm('install', '--package-lock-only', '--lockfile-version', String(v), '--no-audit', '--no-fund');
        locks.set(v, readFileSync(join(dir, 'package-lock.json')));
        rmSync(join(dir, 'package-lock.json'));
      }
      writeFileSync(join(dir, 'package-lock.json'), locks.get(3)!);
      npm('ci', '--no-audit', '--no-fund');
    } catch (err) {
      t.skip(`npm could not install from the registry: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    const tree = JSON.parse(npm('ls', '--all', '--json')) as NpmLs;
    const expected = [...new Set(flatten(tree))].sort();
    expect(expected).toEqual([
      '@sindresorhus/is@4.6.0',
      'debug@2.6.9',
      'is-number@7.0.0',
      'ms@2.0.0',
      'ms@2.1.3',
    ]);

    for (const [v, lock] of locks) {
      expect(JSON.parse(lock.toString()).lockfileVersion).toBe(v);
      expect(nv(npmLockParser.parse(lock, 'package-lock.json', ctx)), `lockfile v${v}`).toEqual(expected);
    }

    const installed: string[] = [];
    for (const file of walk(join(dir, 'node_modules'))) {
      const rel = relative(dir, file);
      if (!npmPackageJsonParser.wants(rel)) continue;
      installed.push(...nv(npmPackageJsonParser.parse(readFileSync(file), rel, ctx)));
    }
    // One package.json per installed copy: exactly the set, and no copy counted twice.
    expect(installed.sort()).toEqual(expected);
  });
});

interface NpmLs {
  version?: string;
  dependencies?: Record<string, NpmLs>;
}

function* flatten(node: NpmLs): Generator<string> {
  for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
    if (dep.version) yield `${name}@${dep.version}`;
    yield* flatten(dep);
  }
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}
