/** net.cidr_* over IPv4/IPv6 addresses held as bigints. */
import { operandError } from '../errors.js';
import { RObject, RSet, typeName, type Value } from '../value.js';
import { register } from './registry.js';
import { elems, fail, str } from './util.js';

interface Net {
  v6: boolean;
  addr: bigint;
  bits: number;
}

function parseIP(s: string): { v6: boolean; addr: bigint } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const parts = s.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    if (s.split('.').some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
    return { v6: false, addr: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n) };
  }
  if (!s.includes(':')) return undefined;
  let head = s;
  let v4tail: bigint | undefined;
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const t = parseIP(m[2]);
    if (!t) return undefined;
    v4tail = t.addr;
    head = m[1] + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const split = (x: string): string[] => (x === '' ? [] : x.split(':'));
  const l = split(halves[0]);
  const r = halves.length === 2 ? split(halves[1]) : [];
  const fill = 8 - l.length - r.length;
  if (halves.length === 1 ? l.length !== 8 : fill < 1) return undefined;
  const groups = [...l, ...Array(halves.length === 2 ? fill : 0).fill('0'), ...r];
  let addr = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    addr = (addr << 16n) | BigInt(parseInt(g, 16));
  }
  if (v4tail !== undefined) addr = (addr & ~0xffffffffn) | v4tail;
  return { v6: true, addr };
}

function parseCIDR(fn: string, s: string): Net {
  const i = s.indexOf('/');
  if (i < 0) fail(fn, `invalid CIDR address: ${s}`);
  const ip = parseIP(s.slice(0, i));
  const bitsS = s.slice(i + 1);
  const max = ip?.v6 ? 128 : 32;
  if (!ip || !/^\d+$/.test(bitsS) || Number(bitsS) > max) fail(fn, `invalid CIDR address: ${s}`);
  const bits = Number(bitsS);
  return { v6: ip.v6, addr: ip.addr & mask(ip.v6, bits), bits };
}

function parseNetOrIP(fn: string, s: string): Net {
  if (s.includes('/')) return parseCIDR(fn, s);
  const ip = parseIP(s);
  if (!ip) fail(fn, `invalid IP address: ${s}`);
  return { v6: ip.v6, addr: ip.addr, bits: ip.v6 ? 128 : 32 };
}

function mask(v6: boolean, bits: number): bigint {
  const w = v6 ? 128 : 32;
  return ((1n << BigInt(w)) - 1n) ^ ((1n << BigInt(w - bits)) - 1n);
}

function contains(a: Net, b: Net): boolean {
  return a.v6 === b.v6 && b.bits >= a.bits && (b.addr & mask(a.v6, a.bits)) === a.addr;
}

function formatIP(v6: boolean, addr: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 255n)).join('.');
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // longest run of zeros (len >= 2) becomes ::
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

register('net.cidr_contains', (a) =>
  contains(
    parseCIDR('net.cidr_contains', str('net.cidr_contains', a, 0)),
    parseNetOrIP('net.cidr_contains', str('net.cidr_contains', a, 1)),
  ),
);
register('net.cidr_overlap', (a) =>
  contains(
    parseCIDR('net.cidr_overlap', str('net.cidr_overlap', a, 0)),
    parseNetOrIP('net.cidr_overlap', str('net.cidr_overlap', a, 1)),
  ),
);
register('net.cidr_intersects', (a) => {
  const x = parseCIDR('net.cidr_intersects', str('net.cidr_intersects', a, 0));
  const y = parseCIDR('net.cidr_intersects', str('net.cidr_intersects', a, 1));
  return contains(x, y) || contains(y, x);
});
register('net.cidr_is_valid', (a) => {
  const s = str('net.cidr_is_valid', a, 0);
  try {
    parseCIDR('net.cidr_is_valid', s);
    return true;
  } catch {
    return false;
  }
});
register('net.cidr_expand', (a) => {
  const n = parseCIDR('net.cidr_expand', str('net.cidr_expand', a, 0));
  const w = n.v6 ? 128 : 32;
  const count = 1n << BigInt(w - n.bits);
  if (count > 65536n) fail('net.cidr_expand', 'CIDR too large to expand');
  const out = new RSet();
  for (let i = 0n; i < count; i++) out.add(formatIP(n.v6, n.addr + i));
  return out;
});

register('net.cidr_merge', (a) => {
  const xs = elems('net.cidr_merge', a, 0);
  const nets: Net[] = xs.map((x) => {
    if (typeof x !== 'string')
      throw operandError('net.cidr_merge', 1, 'set or array of strings', typeName(x));
    if (x.includes('/')) return parseCIDR('net.cidr_merge', x);
    const ip = parseIP(x);
    if (!ip) fail('net.cidr_merge', `IP address invalid: ${x}`);
    if (ip.v6) fail('net.cidr_merge', 'IPv6 invalid: needs prefix length');
    // like Go's net.IP.DefaultMask: classful mask for a bare IPv4 address
    const first = Number(ip.addr >> 24n);
    const bits = first < 128 ? 8 : first < 192 ? 16 : 24;
    return { v6: false, addr: ip.addr & mask(false, bits), bits };
  });
  const merge = (list: Net[]): Net[] => {
    list = [...list].sort((p, q) => (p.addr < q.addr ? -1 : p.addr > q.addr ? 1 : p.bits - q.bits));
    const out: Net[] = [];
    for (const n of list) {
      if (out.length && contains(out[out.length - 1], n)) continue;
      out.push(n);
      // combine siblings
      while (out.length >= 2) {
        const x = out[out.length - 2];
        const y = out[out.length - 1];
        if (x.bits === y.bits && x.bits > 0 && x.v6 === y.v6) {
          const w = x.v6 ? 128 : 32;
          const parentBits = x.bits - 1;
          const pm = mask(x.v6, parentBits);
          if (
            (x.addr & pm) === (y.addr & pm) &&
            x.addr !== y.addr &&
            ((x.addr >> BigInt(w - x.bits)) & 1n) === 0n
          ) {
            out.splice(out.length - 2, 2, { v6: x.v6, addr: x.addr & pm, bits: parentBits });
            continue;
          }
        }
        break;
      }
    }
    return out;
  };
  const v4 = merge(nets.filter((n) => !n.v6));
  const v6 = merge(nets.filter((n) => n.v6));
  return RSet.from([...v4, ...v6].map((n) => `${formatIP(n.v6, n.addr)}/${n.bits}`));
});

register('net.cidr_contains_matches', ([x, y]) => {
  const items = (v: Value, pos: number): [Value, string][] => {
    const one = (key: Value, e: Value): [Value, string] => {
      if (typeof e === 'string') return [key, e];
      if (Array.isArray(e) && e.length > 0 && typeof e[0] === 'string') return [key, e[0]];
      fail('net.cidr_contains_matches', `operand ${pos}: element must be string or non-empty array`);
    };
    if (typeof v === 'string') return [[v, v]];
    if (Array.isArray(v)) return v.map((e, i) => one(i, e));
    if (v instanceof RSet) return v.sorted().map((e) => one(e, e));
    if (v instanceof RObject) return v.sortedEntries().map(([k, e]) => one(k, e));
    throw operandError('net.cidr_contains_matches', pos, 'one of {string, array, set, object}', typeName(v));
  };
  const fix = (msg: string) => (e: unknown) => {
    throw e instanceof Error && e.message.includes('must be string or non-empty array')
      ? new (e.constructor as typeof Error)(msg)
      : e;
  };
  void fix;
  const cidrs = items(x, 1);
  const ips = items(y, 2);
  const out = new RSet();
  for (const [ck, c] of cidrs) {
    const cn = parseCIDR('net.cidr_contains_matches', c);
    for (const [ik, ip] of ips)
      if (contains(cn, parseNetOrIP('net.cidr_contains_matches', ip))) out.add([ck, ik]);
  }
  return out;
});
