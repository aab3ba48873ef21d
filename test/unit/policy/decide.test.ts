/** loadPolicy: the decision path with its compile cache and lazily loaded builtin families. */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    for (const bad of [
      '{not json',
      '{"files":[],"body":{"format":"other"}}',
      readFileSync(join(cache, entry), 'utf8').slice(0, 500),
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
});
