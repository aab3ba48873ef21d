/** loadPolicy: the decision path with its compile cache and lazily loaded builtin families. */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { serialize } from 'node:v8';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, loadPolicy } from '../../../src/policy/decide.js';
import { encode, decode } from '../../../src/policy/serial.js';
import { RObject, RSet } from '../../../src/policy/value.js';

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'moat-decide-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

const POLICY = `package moat.authz
import rego.v1
default allow := false
allow if count(deny) == 0
deny contains sprintf("bad %s", [x]) if some x in input.bad
decision := {"allow": allow, "deny": deny}
`;

describe('loadPolicy', () => {
  it('compiles, caches and reuses the compiled policy', async () => {
    const policies = dir({ 'authz.rego': POLICY, 'authz_test.rego': 'package t\ntest_x if false\n' });
    const cache = mkdtempSync(join(tmpdir(), 'moat-cache-'));
    const first = await loadPolicy([policies], { cache });
    expect(first.cached).toBe(false);
    expect(first.decide({ bad: ['a'] })).toEqual({ allow: false, deny: ['bad a'] });
    expect(readdirSync(cache)).toHaveLength(1);
    const second = await loadPolicy([policies], { cache });
    expect(second.cached).toBe(true);
    expect(second.decide({ bad: [] })).toEqual({ allow: true, deny: [] });
    expect(second.eval({ bad: [] })[0].expressions[0].value).toEqual({ allow: true, deny: [] });
  });

  it('recompiles when a module changes', async () => {
    const policies = dir({ 'authz.rego': POLICY });
    const cache = mkdtempSync(join(tmpdir(), 'moat-cache-'));
    await loadPolicy([policies], { cache });
    writeFileSync(
      join(policies, 'authz.rego'),
      POLICY.replace('default allow := false', 'default allow := true'),
    );
    const p = await loadPolicy([policies], { cache });
    expect(p.cached).toBe(false);
  });

  it('ignores a corrupt or foreign cache entry', async () => {
    const policies = dir({ 'authz.rego': POLICY });
    const cache = mkdtempSync(join(tmpdir(), 'moat-cache-'));
    await loadPolicy([policies], { cache });
    const [entry] = readdirSync(cache);
    expect(entry).toMatch(/^[0-9a-f]{16}\.bin$/);
    const good = readFileSync(join(cache, entry));
    for (const bad of [
      Buffer.from('{not json'),
      serialize({ root: { format: 'other' }, instances: [] }),
      serialize({ root: null, instances: [] }),
      serialize({ format: 'moat-policy-cache-2' }),
      // an instance that names no class moat encodes
      serialize({ root: {}, instances: [[{}, 7]] }),
      good.subarray(0, 500),
      good.subarray(0, good.length - 1),
    ]) {
      writeFileSync(join(cache, entry), bad);
      const p = await loadPolicy([policies], { cache });
      expect(p.cached).toBe(false);
      expect(p.decide({ bad: [] })).toEqual({ allow: true, deny: [] });
    }
  });

  it('works when the cache directory cannot be written', async () => {
    const policies = dir({ 'authz.rego': POLICY });
    // a path below a regular file cannot be created, even by root
    const p = await loadPolicy([policies], { cache: join(policies, 'authz.rego', 'cache') });
    expect(p.decide({ bad: [] })).toEqual({ allow: true, deny: [] });
  });

  it('loads the builtin families a policy calls', async () => {
    const policies = dir({
      'p.rego':
        'package p\nimport rego.v1\nv := [yaml.unmarshal("a: 1").a, time.parse_rfc3339_ns("2020-01-01T00:00:00Z"), semver.compare("1.0.0", "2.0.0")]\n',
    });
    const p = await loadPolicy([policies], { query: 'data.p.v', cache: false });
    expect(p.decide(undefined)).toEqual([1, 1577836800000000000, -1]);
  });

  it('reports compile errors', async () => {
    const policies = dir({ 'bad.rego': 'package p\nallow if y\n' });
    await expect(loadPolicy([policies], { cache: false })).rejects.toMatchObject({
      errors: [{ code: 'rego_unsafe_var_error' }],
    });
  });

  it('puts the cache under XDG_CACHE_HOME or HOME', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/moat/policy');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/h' })).toBe('/h/.cache/moat/policy');
    expect(defaultCacheDir({})).toBeUndefined();
  });
});

describe('serial', () => {
  it('round-trips maps, values, bigints, shared and cyclic references', () => {
    const loc = { file: 'f.rego', row: 1, col: 2, start: 3, end: 4 };
    const a: Record<string, unknown> = {
      loc,
      n: 9007199254740993n,
      o: RObject.fromJS({ k: RSet.from([1, 'x']) }),
      u: [undefined, Infinity],
    };
    a.self = a;
    const m = new Map<string, unknown>([['a', a]]);
    const back = decode(encode({ m, again: a, loc })) as {
      m: Map<string, Record<string, unknown>>;
      again: unknown;
      loc: unknown;
    };
    const a2 = back.m.get('a')!;
    expect(a2.self).toBe(a2);
    expect(back.again).toBe(a2);
    expect(a2.n).toBe(9007199254740993n);
    expect((a2.o as RObject).get('k')).toBeInstanceOf(RSet);
    expect(a2.u).toEqual([undefined, Infinity]);
    expect(back.loc).toEqual(loc);
  });

  it('refuses what it cannot give back as it was: other classes, functions, symbol keys', () => {
    class Other {
      x = 1;
    }
    expect(() => encode({ a: [new Other()] })).toThrow(/instance of Other/);
    expect(() => encode({ f: () => 1 })).toThrow(/cannot encode function/);
    expect(() => encode({ [Symbol('s')]: 1 })).toThrow(/symbol/);
  });
});

describe('the cache on disk', () => {
  it('removes entries of the previous (JSON) format when it writes one', async () => {
    const policies = dir({ 'authz.rego': POLICY });
    const cache = mkdtempSync(join(tmpdir(), 'moat-cache-'));
    writeFileSync(join(cache, '0123456789abcdef.json'), '{}');
    writeFileSync(join(cache, 'notes.json'), '{}');
    await loadPolicy([policies], { cache });
    const names = readdirSync(cache).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^[0-9a-f]{16}\.bin$/);
    expect(names[1]).toBe('notes.json');
  });
});
