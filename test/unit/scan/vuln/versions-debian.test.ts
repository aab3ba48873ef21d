/**
 * Debian version ordering against dpkg itself: generated pairs (epochs, digit runs with leading
 * zeros, letters, `~`, `+`, `.`, `-` in upstream and revision) compared by `dpkg --compare-versions`.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compare, valid } from '../../../../src/scan/vuln/versions/debian.js';
import { pairs, rng } from './random.js';

const r = rng(0xdeb);
const ALNUM = 'abcxyzABZ';

function part(first: boolean, allowHyphen: boolean): string {
  let s = first ? String(r.int(20)) : '';
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const k = r.int(10);
    if (k < 3) s += r.pick(['0', '00', '1', '01', '9', '10', '007', String(r.int(1000))]);
    else if (k < 5) s += r.pick(ALNUM.split(''));
    else if (k < 6) s += '~' + r.pick(['', 'rc', 'beta', '1']);
    else if (k < 7) s += '+' + r.pick(['', 'dfsg', 'b', '1']);
    else if (k < 9) s += '.' + r.pick(['', '0', '1', 'a', '2']);
    else if (allowHyphen) s += '-' + r.pick(['1', 'a', '0']);
  }
  return s;
}

function gen(): string {
  const epoch = r.chance(0.2) ? `${r.pick(['0', '1', '2', '00'])}:` : '';
  const hasRev = r.chance(0.6);
  const upstream = part(true, hasRev);
  const revision = hasRev ? `-${r.pick(['', '0', '1'])}${part(false, false) || '1'}` : '';
  return epoch + upstream + revision;
}

function mutate(v: string): string {
  const i = r.int(v.length + 1);
  const op = r.int(4);
  if (op === 0) return v.slice(0, i) + r.pick(['~', '+', '.', '0', '1', 'a', 'Z']) + v.slice(i);
  if (op === 1) return v + r.pick(['~', '~~', '+1', '.0', 'a', '-1', '0']);
  if (op === 2 && !v.includes(':')) return `${r.pick(['0', '1'])}:${v}`;
  return v.replace(/[0-9]+/, (d) => String(Number(d) + r.pick([-1, 0, 1]) || 0).padStart(d.length, '0'));
}

/** dpkg's answer for each pair: -1, 0 or 1, from one shell running dpkg per comparison. */
function dpkg(ps: [string, string][]): number[] {
  const script =
    'while IFS=" " read -r a b; do ' +
    'if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1; ' +
    'elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi; done';
  const out = spawnSync('sh', ['-c', script], {
    input: ps.map(([a, b]) => `${a} ${b}`).join('\n') + '\n',
    encoding: 'utf8',
  });
  expect(out.status).toBe(0);
  return out.stdout.trim().split('\n').map(Number);
}

describe('Debian versions (dpkg)', () => {
  it('agrees with dpkg --compare-versions on 400 generated pairs', () => {
    const ps = pairs(r, 400, gen, mutate).filter(([a, b]) => valid(a) && valid(b));
    expect(ps.length).toBeGreaterThan(350);
    const want = dpkg(ps);
    const got = ps.map(([a, b]) => compare(a, b));
    const diff = ps.flatMap(([a, b], i) =>
      want[i] === got[i] ? [] : [`${a} ${b}: ${got[i]}, dpkg ${want[i]}`],
    );
    expect(diff).toEqual([]);
    // The sample exercises every rule.
    const all = ps.flat().join(' ');
    for (const c of ['~', '+', ':', '-', '.', 'a']) expect(all).toContain(c);
    expect(new Set(want)).toEqual(new Set([-1, 0, 1]));
  });

  it('orders the cases deb-version(7) describes', () => {
    expect(compare('1.0~rc1-1', '1.0-1')).toBe(-1); // ~ before the end of the string
    expect(compare('1.0~~', '1.0~')).toBe(-1); // ~~ before ~
    expect(compare('1.0-1', '1.0+b1-1')).toBe(-1); // + after the end
    expect(compare('1:0.1', '9.9')).toBe(1); // the epoch first
    expect(compare('0:1.0', '1.0')).toBe(0); // epoch 0 is no epoch
    expect(compare('1.0', '1.0-0')).toBe(0); // no revision is revision "0"
    expect(compare('1.01', '1.1')).toBe(0); // digit runs as numbers
    expect(compare('1.0a', '1.0+')).toBe(-1); // letters before other characters
    expect(compare('3.0.11-1~deb12u2', '3.0.11-1')).toBe(-1);
  });

  it('accepts what dpkg accepts', () => {
    for (const v of ['1.0', '1:2.3-4', '2.36-9+deb12u4', '1.0~rc1', '0:1']) expect(valid(v), v).toBe(true);
    for (const v of ['', 'a1.0', '1.0-', ':1.0', 'x:1.0', '1.0 1', '1.0-a_b'])
      expect(valid(v), v).toBe(false);
  });
});
