/**
 * PEP 440 ordering against Python's `packaging` (Debian's python3-packaging): one python process
 * compares a batch of generated pairs and says which strings it refuses.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compare, normalize, valid } from '../../../../src/scan/vuln/versions/pep440.js';
import { pairs, rng } from './random.js';

const PY = `
import json, sys
from packaging.version import Version, InvalidVersion
def parse(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None
out = []
for a, b in json.load(sys.stdin):
    va, vb = parse(a), parse(b)
    out.append({"a": str(va) if va is not None else None, "b": str(vb) if vb is not None else None,
                "cmp": None if va is None or vb is None else (va > vb) - (va < vb)})
json.dump(out, sys.stdout)
`;

interface Answer {
  a: string | null;
  b: string | null;
  cmp: number | null;
}

function packaging(ps: [string, string][]): Answer[] {
  const res = spawnSync('python3', ['-c', PY], { input: JSON.stringify(ps), encoding: 'utf8' });
  expect(res.stderr).toBe('');
  return JSON.parse(res.stdout) as Answer[];
}

const r = rng(0x440);
const SEP = ['', '.', '-', '_'];

function gen(): string {
  let v = r.pick(['', '', '', 'v', 'V']);
  if (r.chance(0.15)) v += `${r.int(3)}!`;
  v += Array.from({ length: 1 + r.int(4) }, () => r.pick(['0', '1', '2', '10', '01', '00'])).join('.');
  if (r.chance(0.4))
    v +=
      r.pick(SEP) +
      r.pick(['a', 'alpha', 'b', 'beta', 'c', 'rc', 'pre', 'preview', 'RC']) +
      r.pick(['', ...SEP]) +
      r.pick(['', '0', '1', '2', '10']);
  if (r.chance(0.3))
    v += r.chance(0.3)
      ? `-${r.int(3)}`
      : r.pick(SEP) +
        r.pick(['post', 'rev', 'r', 'POST']) +
        r.pick(['', ...SEP]) +
        r.pick(['', '0', '1', '2']);
  if (r.chance(0.3)) v += r.pick(SEP) + r.pick(['dev', 'DEV']) + r.pick(['', '0', '1', '3']);
  if (r.chance(0.2))
    v +=
      '+' +
      Array.from({ length: 1 + r.int(3) }, () => r.pick(['ubuntu', '1', '2', '10', 'abc', 'A0', '0'])).join(
        r.pick(['.', '-', '_']),
      );
  return v;
}

function mutate(v: string): string {
  const k = r.int(5);
  if (k === 0) return v.replace(/\+.*$/, '');
  if (k === 1) return v + r.pick(['.0', '.post1', '.dev0', 'a1', '+1', '+x', '-1']);
  if (k === 2) return v.toUpperCase();
  if (k === 3) return v.replace(/[0-9]+/, (d) => String(Number(d) + r.pick([0, 1])));
  return v.replace(/^v/i, '').replace(/\.0$/, '');
}

describe('PEP 440 (packaging)', () => {
  it('agrees with packaging.version.Version on 500 generated pairs: order, validity, normal form', () => {
    const ps = pairs(r, 500, gen, mutate);
    const want = packaging(ps);
    const bad: string[] = [];
    ps.forEach(([a, b], i) => {
      const w = want[i];
      if (normalize(a) !== (w.a ?? undefined)) bad.push(`normalize ${a}: ${normalize(a)}, packaging ${w.a}`);
      if (valid(b) !== (w.b !== null)) bad.push(`valid ${b}: ${valid(b)}`);
      if (w.cmp !== null && compare(a, b) !== w.cmp)
        bad.push(`${a} ${b}: ${compare(a, b)}, packaging ${w.cmp}`);
    });
    expect(bad).toEqual([]);
    const compared = want.filter((w) => w.cmp !== null);
    expect(compared.length).toBeGreaterThan(400);
    expect(new Set(compared.map((w) => w.cmp))).toEqual(new Set([-1, 0, 1]));
  });

  it('orders the cases of the specification', () => {
    const order = [
      '1.0.dev0',
      '1.0a1.dev0',
      '1.0a1',
      '1.0b1',
      '1.0rc1',
      '1.0',
      '1.0+local',
      '1.0.post1.dev0',
      '1.0.post1',
      '1.1',
    ];
    for (let i = 1; i < order.length; i++)
      expect([order[i - 1], compare(order[i - 1], order[i])]).toEqual([order[i - 1], -1]);
    expect(compare('1!0.1', '2.0')).toBe(1);
    expect(compare('1.0', '1.0.0')).toBe(0);
    expect(compare('1.0+abc', '1.0+1')).toBe(-1); // numbers after strings in a local version
  });
});
