/**
 * semver ordering against npm's own `semver` package (present in node_modules as a dependency of
 * the toolchain), and Go module versions (pseudo-versions, +incompatible, go toolchain names).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { compare, compareGo, valid, validGo } from '../../../../src/scan/vuln/versions/semver.js';
import { pairs, rng } from './random.js';

interface NpmSemver {
  compare(a: string, b: string): -1 | 0 | 1;
  valid(v: string): string | null;
}
const npm = createRequire(import.meta.url)('semver') as NpmSemver;

const r = rng(0x5e3);
const IDS = ['alpha', 'beta', 'rc', '0', '1', '2', '10', '11', 'x-y', 'alpha1', 'a-1', '-', 'Beta', '9a'];

function gen(): string {
  let v = `${r.pick(['', 'v'])}${r.int(3)}.${r.int(12)}.${r.pick(['0', '1', '2', '10', '100'])}`;
  if (r.chance(0.6)) v += '-' + Array.from({ length: 1 + r.int(3) }, () => r.pick(IDS)).join('.');
  if (r.chance(0.2)) v += '+' + r.pick(['build.1', 'sha.abc', '001', 'x']);
  return v;
}

function mutate(v: string): string {
  const k = r.int(4);
  if (k === 0) return v.replace(/-.*$/, '');
  if (k === 1) return v.includes('-') ? `${v}.${r.pick(IDS)}` : `${v}-${r.pick(IDS)}`;
  if (k === 2) return v.replace(/\+.*$/, '') + '+meta';
  return v.replace(/[0-9]+(?=[^0-9]*$)/, (d) => String(Number(d) + 1));
}

describe('semver (npm)', () => {
  it("agrees with npm's semver.compare on 500 generated pairs, and on validity", () => {
    const ps = pairs(r, 500, gen, mutate);
    const bad: string[] = [];
    for (const [a, b] of ps) {
      expect(valid(a), a).toBe(npm.valid(a) !== null);
      if (!valid(a) || !valid(b)) continue;
      const want = npm.compare(a, b);
      if (compare(a, b) !== want) bad.push(`${a} ${b}: ${compare(a, b)}, semver ${want}`);
    }
    expect(bad).toEqual([]);
    expect(new Set(ps.map(([a, b]) => compare(a, b)))).toEqual(new Set([-1, 0, 1]));
  });

  it('refuses what strict semver refuses', () => {
    for (const v of ['1.2', '01.2.3', '1.2.3-01', '1.2.3-', '1.2.3+', '=1.2.3', '1.2.3.4', 'latest'])
      expect([v, valid(v)]).toEqual([v, npm.valid(v) !== null]);
  });
});

describe('Go module versions', () => {
  it('orders pseudo-versions, pre-releases, +incompatible and toolchain names', () => {
    // A pseudo-version is a pre-release of the next patch: after v1.2.3, before v1.2.4.
    expect(compareGo('v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3')).toBe(1);
    expect(compareGo('v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4')).toBe(-1);
    expect(compareGo('v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-aaaaaaaaaaaa')).toBe(-1);
    // +incompatible is build metadata: equal to the same version without it.
    expect(compareGo('v2.0.0+incompatible', '2.0.0')).toBe(0);
    expect(compareGo('v2.1.0+incompatible', 'v2.0.9')).toBe(1);
    // OSV Go records write versions without the v; binaries print go1.21.3 for the toolchain.
    expect(compareGo('go1.21.3', '1.21.4')).toBe(-1);
    expect(compareGo('v1.2', '1.2.0')).toBe(0);
    expect(validGo('v1.2.3')).toBe(true);
    expect(validGo('(devel)')).toBe(false);
  });
});
