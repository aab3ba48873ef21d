import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheDir, createBundleLoader, MAX_ENTRIES } from '../../../src/util/code-cache.js';

// V8 keeps the scripts a process compiled in memory and would serve a second compile of the
// same source from there, whatever data it is given: these tests compile each source anew, as a
// new process does.
setFlagsFromString('--no-compilation-cache');

let root: string;
let src: string;
let cache: string;

/** A small CommonJS graph as the bundle has: an entry, chunks requiring each other in a cycle. */
function writeBundle(extra = ''): string {
  writeFileSync(
    path.join(src, 'cli.cjs'),
    `'use strict';
const a = require('./chunk-a.cjs');
const path = require('node:path');
exports.main = () => a.twice(21) + ':' + path.basename(__filename) + ':' + typeof module;
exports.shared = () => 'shared';${extra}
`,
  );
  writeFileSync(
    path.join(src, 'chunk-a.cjs'),
    `'use strict';
const cli = require('./cli.cjs');
const b = require('./chunk-b.cjs');
exports.twice = (n) => b.add(n, n) + cli.shared().length;
`,
  );
  writeFileSync(path.join(src, 'chunk-b.cjs'), `'use strict';\nexports.add = (x, y) => x + y;\n`);
  return path.join(src, 'cli.cjs');
}

const entries = (): string[] => readdirSync(cache).filter((n) => n.endsWith('.bin'));

function run(entry: string): {
  out: string;
  stats: ReturnType<typeof createBundleLoader>['stats'];
  dir?: string;
} {
  const l = createBundleLoader(cache, { onExit: false });
  const { main } = l.load(entry) as { main: () => string };
  const out = main();
  l.flush();
  return { out, stats: l.stats, dir: l.dir };
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'moat-code-cache-'));
  src = path.join(root, 'bundle');
  cache = path.join(root, 'cache', 'moat', 'code-cache', 'v');
  mkdirSync(src);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('createBundleLoader', () => {
  it('runs a CommonJS graph: relative requires through the loader (a cycle too), node: modules through Node', () => {
    const r = run(writeBundle());
    expect(r.out).toBe('48:cli.cjs:object');
  });

  it('writes one private entry per file, then compiles from them', () => {
    const entry = writeBundle();
    const first = run(entry);
    expect(first.stats).toMatchObject({ hits: 0, misses: 3, written: 3 });
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(entries()).toHaveLength(3);
    for (const n of entries()) expect(statSync(path.join(cache, n)).mode & 0o777).toBe(0o600);
    const second = run(entry);
    expect(second.out).toBe(first.out);
    expect(second.stats).toMatchObject({ hits: 3, misses: 0, rejected: 0, untrusted: 0, written: 0 });
  });

  it('a changed file never meets the entry of its old source', () => {
    const entry = writeBundle();
    run(entry);
    writeBundle('\nexports.more = 1;');
    const r = run(entry);
    expect(r.stats).toMatchObject({ hits: 2, misses: 1, written: 1 });
    expect(entries()).toHaveLength(4);
  });

  it('damaged data is refused by V8, the code still runs from source, and the entry is written again', () => {
    const entry = writeBundle();
    run(entry);
    for (const n of entries()) writeFileSync(path.join(cache, n), Buffer.alloc(4096, 0x41), { mode: 0o600 });
    const r = run(entry);
    expect(r.out).toBe('48:cli.cjs:object');
    expect(r.stats).toMatchObject({ hits: 0, rejected: 3, written: 3 });
    expect(run(entry).stats).toMatchObject({ hits: 3, rejected: 0 });
  });

  it('entries another user could have written are not read, nor replaced', () => {
    const entry = writeBundle();
    run(entry);
    const [e1, e2, e3] = entries().map((n) => path.join(cache, n));
    chmodSync(e1, 0o620); // group-writable
    rmSync(e2);
    symlinkSync(e3, e2); // a symlink (to a good entry)
    const alias = path.join(root, 'alias.bin');
    linkSync(e3, alias); // a second link
    const r = run(entry);
    expect(r.out).toBe('48:cli.cjs:object');
    expect(r.stats).toMatchObject({ hits: 0, untrusted: 3, written: 0 });
    expect(statSync(e1).mode & 0o777).toBe(0o620);
  });

  it('a directory writable by others is not used at all', () => {
    const entry = writeBundle();
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    chmodSync(cache, 0o777);
    const r = run(entry);
    expect(r.dir).toBeUndefined();
    expect(r.out).toBe('48:cli.cjs:object');
    expect(r.stats).toMatchObject({ hits: 0, misses: 3, written: 0 });
    expect(entries()).toHaveLength(0);
    chmodSync(cache, 0o700);
    chmodSync(path.dirname(cache), 0o757); // the directory above it, too
    expect(run(entry).dir).toBeUndefined();
  });
});

describe('pruning', () => {
  it('past MAX_ENTRIES the oldest entries go (not those just written), and stale temporary files', () => {
    const entry = writeBundle();
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    const old = new Date(Date.now() - 2 * 3600_000);
    for (let i = 0; i <= MAX_ENTRIES; i++) {
      const f = path.join(cache, `old-${i}.bin`);
      writeFileSync(f, 'x', { mode: 0o600 });
      utimesSync(f, old, old);
    }
    const stale = path.join(cache, '.a.bin.0123.tmp');
    const fresh = path.join(cache, '.b.bin.4567.tmp');
    writeFileSync(stale, 'x');
    utimesSync(stale, old, old);
    writeFileSync(fresh, 'x');
    const r = run(entry);
    expect(r.stats.written).toBe(3);
    const left = entries();
    expect(left.length).toBe(MAX_ENTRIES / 2);
    expect(left.filter((n) => !n.startsWith('old-'))).toHaveLength(3);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(run(entry).stats.hits).toBe(3);
  });
});

describe('codeCacheDir', () => {
  it('is under XDG_CACHE_HOME (absolute only), else HOME/.cache, per Node version; off with MOAT_CODE_CACHE=off', () => {
    const v = `${process.version}-${process.arch}`;
    expect(codeCacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe(`/c/moat/code-cache/${v}`);
    expect(codeCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/h' })).toBe(`/h/.cache/moat/code-cache/${v}`);
    expect(codeCacheDir({ HOME: '/h', MOAT_CODE_CACHE: 'off' })).toBeUndefined();
  });
});
