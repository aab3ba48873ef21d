/** units.*, trace, opa.runtime. */
import { RObject } from '../value.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

const SI: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BIN: Record<string, number> = { ki: 2 ** 10, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

function splitAmount(fn: string, raw: string): [number, string] {
  let s = raw.replace(/"/g, '');
  if (/\s/.test(s)) fail(fn, 'spaces not allowed in resource strings');
  const m = /^([0-9]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)(.*)$/.exec(s)!;
  if (m[1] === '' || m[1] === '.') fail(fn, fn === 'units.parse' ? 'no amount provided' : 'no byte amount provided');
  s = m[2];
  const n = Number(m[1]);
  if (Number.isNaN(n)) fail(fn, fn === 'units.parse' ? 'could not parse amount to a number' : 'could not parse byte amount to a number');
  return [n, s];
}

register('units.parse', (a) => {
  const [n, unit] = splitAmount('units.parse', str('units.parse', a, 0));
  const mult = BIN[unit] ?? SI[unit];
  if (mult === undefined) fail('units.parse', `unit ${unit} not recognized`);
  const r = n * mult;
  return Number.isInteger(r) ? r : Number(r.toPrecision(15));
});

const BYTES: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 2 ** 10, kib: 2 ** 10,
  m: 1e6, mb: 1e6, mi: 2 ** 20, mib: 2 ** 20,
  g: 1e9, gb: 1e9, gi: 2 ** 30, gib: 2 ** 30,
  t: 1e12, tb: 1e12, ti: 2 ** 40, tib: 2 ** 40,
  p: 1e15, pb: 1e15, pi: 2 ** 50, pib: 2 ** 50,
  e: 1e18, eb: 1e18, ei: 2 ** 60, eib: 2 ** 60,
};
register('units.parse_bytes', (a) => {
  const [n, unit] = splitAmount('units.parse_bytes', str('units.parse_bytes', a, 0));
  const mult = BYTES[unit.toLowerCase()];
  if (mult === undefined) fail('units.parse_bytes', `byte unit ${unit} not recognized`);
  return Math.floor(n * mult);
});

register('trace', (a, ctx) => {
  ctx.trace(str('trace', a, 0));
  return true;
});
register('opa.runtime', () => {
  const o = new RObject();
  o.set('env', RObject.from(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string')));
  o.set('version', 'moat');
  return o;
});
