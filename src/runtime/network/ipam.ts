/**
 * Addresses of user-defined networks (pure): IPv4 subnets written as CIDR, the next free one for a
 * new network (10.89.N.0/24, as podman's), and a container's address in one. A subnet may not
 * overlap another network's, slirp4netns's own 10.0.2.0/24 (a container with outbound access has
 * both), loopback, link-local or multicast space.
 */
import { isIPv4 } from 'node:net';

export interface Subnet {
  /** The network address as a 32-bit unsigned number. */
  base: number;
  prefix: number;
}

const toNum = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
export const ipOf = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const size = (s: Subnet): number => 2 ** (32 - s.prefix);

export const subnetText = (s: Subnet): string => `${ipOf(s.base)}/${s.prefix}`;

/** `a.b.c.d/p` with p in 16..29 and no host bits set; undefined when it is not one. */
export function parseSubnet(text: string): Subnet | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
  if (!m || !isIPv4(m[1])) return undefined;
  const prefix = Number(m[2]);
  if (prefix < 16 || prefix > 29) return undefined;
  const base = toNum(m[1]);
  if (base % 2 ** (32 - prefix) !== 0) return undefined;
  return { base, prefix };
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Address space a network may not use: why, or undefined when `s` is fine. */
export function reservedOverlap(s: Subnet): string | undefined {
  const reserved: [string, string][] = [
    ['0.0.0.0/8', 'this network'],
    ['10.0.2.0/24', "slirp4netns's network (a container's outbound link)"],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved'],
  ];
  for (const [cidr, why] of reserved) {
    const [ip, p] = cidr.split('/');
    if (overlaps(s, { base: toNum(ip), prefix: Number(p) })) return `${cidr} (${why})`;
  }
  return undefined;
}

/** The first 10.89.N.0/24 that no existing network overlaps. */
export function nextSubnet(taken: readonly Subnet[]): Subnet | undefined {
  for (let n = 0; n < 256; n++) {
    const s = { base: toNum(`10.89.${n}.0`), prefix: 24 };
    if (!taken.some((t) => overlaps(s, t))) return s;
  }
  return undefined;
}

/** The gateway (the bridge's own address): the subnet's first host. */
export const gatewayOf = (s: Subnet): string => ipOf(s.base + 1);

/** Is `ip` a host address of `s` (not its network or broadcast address)? */
export function hostOf(s: Subnet, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = toNum(ip);
  return n > s.base && n < s.base + size(s) - 1;
}

/** The lowest host address after the gateway not in `used`; undefined when the subnet is full. */
export function allocate(s: Subnet, used: ReadonlySet<string>): string | undefined {
  for (let n = s.base + 2; n < s.base + size(s) - 1; n++) {
    const ip = ipOf(n);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}
