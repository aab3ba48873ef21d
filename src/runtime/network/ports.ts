/**
 * Published ports: `-p [IP:][HOST:]CONTAINER[/tcp|/udp]` (docker's syntax; a missing HOST picks a
 * free port when the container starts) and `-P` (every port the image EXPOSEs, each on a free
 * port). Ports are published on 127.0.0.1 unless an address is given: a developer's container
 * is not reachable from the network by accident; `0.0.0.0` (every address) only when asked, and
 * the policy sees it (`facts.run.ports`). Pure.
 */
import { isIP } from 'node:net';
import { RuntimeError } from '../errors.js';

export interface PortSpec {
  /** The host address it listens on: 127.0.0.1 unless given. */
  hostIp: string;
  /** The host port; 0: a free one, chosen when the container starts. */
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** The host address of a port given without one. */
export const DEFAULT_PUBLISH_IP = '127.0.0.1';

const bad = (s: string, why: string): never => {
  throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid -p "${s.slice(0, 100)}": ${why}`, {
    hint: 'use -p [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp], e.g. -p 8080:80 or -p 127.0.0.1:8080:80/tcp',
  });
};

function port(s: string, text: string, zeroOk: boolean): number {
  if (!/^\d{1,5}$/.test(text)) bad(s, `"${text}" is not a port number`);
  const n = Number(text);
  if (n > 65535 || (n === 0 && !zeroOk)) bad(s, `port ${n} is out of range (1-65535)`);
  return n;
}

export function parsePublish(s: string): PortSpec {
  let rest = s.trim();
  let protocol: PortSpec['protocol'] = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') bad(s, `protocol "${p}" is not tcp or udp (sctp is not offered)`);
    protocol = p as PortSpec['protocol'];
    rest = rest.slice(0, slash);
  }
  let hostIp = DEFAULT_PUBLISH_IP;
  // [v6]:host:ctr, or a.b.c.d:host:ctr
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  let parts: string[];
  if (v6) {
    hostIp = v6[1];
    parts = v6[2].split(':');
    if (parts.length !== 2) bad(s, 'an address needs HOST_PORT:CONTAINER_PORT after it');
  } else {
    parts = rest.split(':');
    if (parts.length === 3) hostIp = parts.shift()!;
    else if (parts.length > 3) bad(s, 'too many colons (an IPv6 address goes in brackets)');
  }
  if (parts.some((p) => p.includes('-'))) bad(s, 'port ranges are not offered: publish each port');
  if (hostIp === '') hostIp = DEFAULT_PUBLISH_IP;
  if (!isIP(hostIp)) bad(s, `"${hostIp}" is not an IP address`);
  if (parts.length === 1) return { hostIp, hostPort: 0, containerPort: port(s, parts[0], false), protocol };
  return {
    hostIp,
    hostPort: parts[0] === '' ? 0 : port(s, parts[0], true),
    containerPort: port(s, parts[1], false),
    protocol,
  };
}

/**
 * `--expose PORT[/tcp|/udp]` (docker's; a range is not offered, as with -p): the port as an image's
 * ExposedPorts key, `8080/tcp`.
 */
export function parseExpose(s: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(s.trim());
  const n = m ? Number(m[1]) : 0;
  if (!m || n < 1 || n > 65535)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --expose "${s.slice(0, 100)}"`, {
      hint: 'use --expose CONTAINER_PORT[/tcp|/udp] with a port 1-65535, e.g. --expose 8080 (one port each)',
    });
  return `${n}/${(m[2] ?? 'tcp').toLowerCase()}`;
}

/** `-P`: every EXPOSEd port of the image (`80/tcp`), each on a free host port of 127.0.0.1. */
export function exposedPorts(exposed: Record<string, unknown> | null | undefined): PortSpec[] {
  const out: PortSpec[] = [];
  for (const k of Object.keys(exposed ?? {})) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(k);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) continue; // ranges and sctp: not published
    out.push({
      hostIp: DEFAULT_PUBLISH_IP,
      hostPort: 0,
      containerPort: Number(m[1]),
      protocol: (m[2] ?? 'tcp') as 'tcp' | 'udp',
    });
  }
  return out;
}

/** Is `ip` a loopback address (what the default policy lets any subject publish on)? */
export function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1';
}

/** `docker port`'s line: `80/tcp -> 127.0.0.1:8080`. */
export function portLine(p: PortSpec): string {
  const host = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${p.containerPort}/${p.protocol} -> ${host}:${p.hostPort}`;
}
