import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pep503, pythonParser, wantsPythonMetadata } from '../../../../src/scan/packages/python.js';

const ctx = { layer: 'sha256:p' };

const METADATA = `Metadata-Version: 2.1
Name: Flask_SQLAlchemy
Version: 3.1.1
Summary: Add SQLAlchemy support to your Flask application.
License-Expression: BSD-3-Clause
License: a very long
        licence text
Requires-Dist: flask>=2.2.5

Name: not-this-one
Version: 9.9.9
`;

describe('python metadata', () => {
  it('reads Name, Version and the licence from the headers only', () => {
    const [p, ...rest] = pythonParser.parse(
      Buffer.from(METADATA),
      'usr/lib/python3/site-packages/Flask_SQLAlchemy-3.1.1.dist-info/METADATA',
      ctx,
    );
    expect(rest).toEqual([]);
    expect(p).toEqual({
      ecosystem: 'pypi',
      name: 'Flask_SQLAlchemy',
      version: '3.1.1',
      purl: 'pkg:pypi/flask-sqlalchemy@3.1.1',
      layer: 'sha256:p',
      path: 'usr/lib/python3/site-packages/Flask_SQLAlchemy-3.1.1.dist-info/METADATA',
      licenses: ['BSD-3-Clause'],
    });
    const egg = pythonParser.parse(
      Buffer.from('Metadata-Version: 1.1\r\nName: zope.interface\r\nVersion: 5.5.2\r\nLicense: ZPL 2.1\r\n'),
      'x.egg-info',
      ctx,
    );
    expect(egg[0]).toMatchObject({
      name: 'zope.interface',
      purl: 'pkg:pypi/zope-interface@5.5.2',
      licenses: ['ZPL 2.1'],
    });
  });

  it('PEP 503 names and the files it wants', () => {
    expect(pep503('Foo.Bar__baz---Q')).toBe('foo-bar-baz-q');
    for (const p of [
      'a/six-1.17.0.dist-info/METADATA',
      'usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info',
      'usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO',
      'site-packages/foo-1.0-py3.11.egg/EGG-INFO/PKG-INFO',
    ]) {
      expect(wantsPythonMetadata(p), p).toBe(true);
    }
    for (const p of ['a/six-1.17.0.dist-info/RECORD', 'METADATA', 'a/x.egg-info/SOURCES.txt']) {
      expect(wantsPythonMetadata(p), p).toBe(false);
    }
  });

  it('fails soft: no name, garbage, a huge header block', () => {
    expect(pythonParser.parse(Buffer.from('Version: 1\n'), 'x.dist-info/METADATA', ctx)).toEqual([]);
    expect(pythonParser.parse(Buffer.alloc(1 << 20, 0xfe), 'x.dist-info/METADATA', ctx)).toEqual([]);
    const huge = Buffer.from('Name: a\nVersion: 1\n' + 'X-Junk: y\n'.repeat(300_000));
    expect(pythonParser.parse(huge, 'x.dist-info/METADATA', ctx)).toHaveLength(1);
  });
});

/** What we list for a directory on sys.path: its top-level *.dist-info and *.egg-info entries. */
function ours(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const file = statSync(full).isFile()
      ? full
      : name.endsWith('.dist-info')
        ? join(full, 'METADATA')
        : join(full, 'PKG-INFO');
    const rel = file.slice(dir.length + 1);
    if (!wantsPythonMetadata(rel) || !existsSync(file)) continue;
    for (const p of pythonParser.parse(readFileSync(file), rel, ctx))
      out.push(`${pep503(p.name)} ${p.version}`);
  }
  return out.sort();
}

const python = spawnSync('python3', ['-m', 'pip', '--version'], { encoding: 'utf8' });
const havePip = python.status === 0;

describe.skipIf(!havePip)('parity with pip list --path on a tree pip install --target made', () => {
  // Made in a hook, not at collection: a skipped block leaves nothing behind.
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-pip-parity-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists what pip lists', { timeout: 240_000 }, (t) => {
    const pip = (...args: string[]): string =>
      execFileSync('python3', ['-m', 'pip', '--disable-pip-version-check', ...args], {
        encoding: 'utf8',
        timeout: 180_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const install = ['install', '--no-deps', '--target', dir, 'six', 'idna', 'PyYAML'];
    try {
      try {
        pip(...install);
      } catch {
        // Debian's pip refuses any install outside a venv (PEP 668), even --target, which leaves the
        // system's packages alone: say so.
        pip(...install, '--break-system-packages');
      }
    } catch (err) {
      t.skip(`pip could not install from the index: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    const listed = JSON.parse(pip('list', '--path', dir, '--format', 'json')) as {
      name: string;
      version: string;
    }[];
    const theirs = listed.map((d) => `${pep503(d.name)} ${d.version}`).sort();
    expect(theirs).toHaveLength(3);
    expect(ours(dir)).toEqual(theirs);
  });
});

// Debian's own python3-* packages: mostly *.egg-info files and directories, what
// importlib.metadata (the standard library's reader, which pip uses too) lists for that path.
const DIST = '/usr/lib/python3/dist-packages';
describe.skipIf(!existsSync(DIST) || spawnSync('python3', ['-c', '1']).status !== 0)(
  `parity with importlib.metadata on ${DIST}`,
  () => {
    it('lists what importlib.metadata.distributions(path=[...]) lists', () => {
      const script =
        'import importlib.metadata as m, json, sys\n' +
        'print(json.dumps([[d.metadata["Name"], d.version] for d in m.distributions(path=[sys.argv[1]])]))';
      const listed = JSON.parse(execFileSync('python3', ['-c', script, DIST], { encoding: 'utf8' })) as [
        string | null,
        string,
      ][];
      const theirs = listed
        .filter(([n]) => n)
        .map(([n, v]) => `${pep503(n!)} ${v}`)
        .sort();
      expect(theirs.length).toBeGreaterThan(5);
      expect(ours(DIST)).toEqual(theirs);
    });
  },
);
