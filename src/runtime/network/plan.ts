/**
 * A container's network as planning settles it (pure, but for the host checks at the end): which
 * stack (`none`, `slirp4netns`, `pasta`; `-p`/`-P` without `--network` mean slirp4netns), the
 * ports it publishes (-P adds the image's EXPOSEd ones), its /etc/hosts and /etc/resolv.conf, and
 * the hook runc runs to start the stack (hook.ts).
 */
import { accessSync, constants as C, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { RuntimeError } from '../errors.js';
import { findExecutable } from '../host.js';
import { NETWORK_HOOK } from '../helper-paths.js';
import type { OciHook } from '../oci.js';
import type { RunOptions } from '../options.js';
import type { NetworkHookConfig } from './hook.js';
import { exposedPorts, type PortSpec } from './ports.js';

export type NetworkMode = NonNullable<RunOptions['network']>;
/**
 * A container's network as planned: its kind, the stack its hook starts, whether that stack
 * reaches the host's loopback (a user network's allow_host_loopback), and for `container:NAME`
 * the container whose files (/etc/hosts, resolv.conf) it shares.
 */
export interface ContainerNetwork {
  kind: NetworkKind;
  stack: Stack;
  hostLoopback: boolean;
  /** The network record's name (user), or the shared container's ID (container). */
  target?: string;
}

/** A user-mode stack (or none) that a container's own hook starts. */
export type Stack = 'none' | 'slirp4netns' | 'pasta';
/** What --network names: a built-in stack, a user-defined network, or another container's. */
export type NetworkKind = Stack | 'user' | 'container';

export function kindOf(network: string): NetworkKind {
  if (network === 'none' || network === 'slirp4netns' || network === 'pasta') return network;
  return network.startsWith('container:') ? 'container' : 'user';
}

/** The stack a container's hook starts: a user network's containers get slirp4netns unless it is internal. */
export function stackOf(network: string, internal = false): Stack {
  const kind = kindOf(network);
  if (kind === 'user') return internal ? 'none' : 'slirp4netns';
  return kind === 'container' ? 'none' : kind;
}

/** The stack a container gets: what it asked for, else slirp4netns when it publishes ports. */
export function networkOf(o: Pick<RunOptions, 'network' | 'ports' | 'publishAll'>): NetworkMode {
  return o.network ?? ((o.ports?.length ?? 0) > 0 || o.publishAll ? 'slirp4netns' : 'none');
}

/** slirp4netns's DNS forwarder and gateway in its default network (10.0.2.0/24). */
export const SLIRP_DNS = '10.0.2.3';

/** The run options with the network settled: its mode, and -P's ports added (the image's and --expose's). */
export function planNetwork(o: RunOptions, exposed: Record<string, unknown> | null | undefined): RunOptions {
  const network = networkOf(o);
  if (network === 'none') return { ...o, network };
  const ports = [...(o.ports ?? [])];
  const declared = { ...(exposed ?? {}), ...Object.fromEntries((o.expose ?? []).map((k) => [k, {}])) };
  if (o.publishAll)
    for (const p of exposedPorts(declared))
      if (!ports.some((q) => q.containerPort === p.containerPort && q.protocol === p.protocol)) ports.push(p);
  return { ...o, network, ports };
}

/** Problems with the network options (option-checks.ts reports them with the others). */
export function networkProblems(o: Partial<RunOptions>): { message: string; hint?: string }[] {
  const out: { message: string; hint?: string }[] = [];
  const ports = o.ports ?? [];
  const kind = o.network === undefined ? undefined : kindOf(o.network);
  if (kind === 'container') {
    const ref = o.network!.slice('container:'.length);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(ref))
      out.push({ message: `--network ${o.network!.slice(0, 80)}: expected container:NAME or container:ID` });
    const conflicting = [
      ports.length || o.publishAll ? '-p/-P' : '',
      o.dns?.length ? '--dns' : '',
      o.addHosts?.length ? '--add-host' : '',
      o.hostname !== undefined ? '--hostname' : '',
    ].filter(Boolean);
    if (conflicting.length)
      out.push({
        message: `--network container:… shares that container's network, so ${conflicting.join(', ')} cannot be given`,
        hint: 'set them on the container whose network is shared',
      });
  } else if (kind === 'user' && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(o.network!))
    out.push({
      message: `--network ${o.network!.slice(0, 80)}: not a network name`,
      hint: 'none, slirp4netns, pasta, container:NAME, or a network made with moat network create',
    });
  if (o.networkAliases?.length && kind !== 'user')
    out.push({
      message: '--network-alias needs a user-defined network',
      hint: 'make one with moat network create NAME and run with --network NAME',
    });
  if (o.network === 'none' && (ports.length || o.publishAll))
    out.push({
      message: 'publishing ports needs a network: --network none has loopback only',
      hint: 'use --network slirp4netns or --network pasta (or drop --network: -p implies slirp4netns)',
    });
  const seen = new Set<string>();
  for (const p of ports) {
    if (!isIP(p.hostIp)) out.push({ message: `published port: "${p.hostIp}" is not an IP address` });
    const k = `${p.hostIp}:${p.hostPort}/${p.protocol}`;
    if (p.hostPort && seen.has(k)) out.push({ message: `host port ${k} is published twice` });
    seen.add(k);
  }
  for (const d of o.dns ?? [])
    if (!isIP(d))
      out.push({ message: `--dns ${d.slice(0, 64)}: not an IP address`, hint: 'e.g. --dns 192.0.2.53' });
  for (const h of o.addHosts ?? []) {
    const i = h.indexOf(':');
    const name = h.slice(0, i);
    const ip = h.slice(i + 1);
    if (i <= 0 || !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})$/.test(name) || !isIP(ip))
      out.push({
        message: `--add-host ${h.slice(0, 100)}: expected NAME:IP`,
        hint: 'e.g. --add-host db:192.0.2.10',
      });
  }
  return out;
}

/** The container's /etc/hosts. */
export function hostsFile(hostname: string, addHosts: readonly string[] = []): string {
  const extra = addHosts.map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
  });
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n${extra.join('')}`;
}

/**
 * The container's /etc/resolv.conf: --dns servers, else the stack's forwarder (slirp4netns), else
 * the host's own non-loopback servers (pasta reaches them through the host).
 */
export function resolvConf(
  mode: NetworkMode,
  dns: readonly string[] | undefined,
  hostResolv: string,
): string {
  let servers = [...(dns ?? [])];
  // No stack (an internal network): no server could be reached, and names are in /etc/hosts.
  if (!servers.length && mode === 'none') return '';
  if (!servers.length && mode === 'slirp4netns') servers = [SLIRP_DNS];
  if (!servers.length)
    servers = hostResolv
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((s): s is string => Boolean(s) && !/^127\.|^::1$/.test(s!));
  return servers.map((s) => `nameserver ${s}\n`).join('');
}

/** runc's createRuntime hook that starts the stack (hook.ts) with the config at `configFile`. */
export function networkHook(configFile: string, node = process.execPath): OciHook {
  return { path: node, args: [node, NETWORK_HOOK, configFile], timeout: 30 };
}

/**
 * Host ports below the host's `net.ipv4.ip_unprivileged_port_start` (1024 by default) need root:
 * refused before the start with what to do, rather than the stack's "cannot bind".
 */
export function checkHostPorts(ports: readonly PortSpec[], uid: number, unprivilegedStart: number): void {
  if (uid === 0) return;
  const low = ports.find((p) => p.hostPort > 0 && p.hostPort < unprivilegedStart);
  if (low)
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `host port ${low.hostPort} is below ${unprivilegedStart}: only root may publish it (net.ipv4.ip_unprivileged_port_start)`,
      {
        hint: `publish on a higher port (-p 8080:${low.containerPort}), or have root lower net.ipv4.ip_unprivileged_port_start`,
      },
    );
}

/** The host's first unprivileged port (1024 when it cannot be read). */
export function unprivilegedPortStart(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    return Number.isInteger(n) && n >= 0 ? n : 1024;
  } catch {
    return 1024;
  }
}

/** The stack's binary, or a clear error saying why this host cannot give the network. */
export function networkBinary(
  mode: Exclude<NetworkMode, 'none'>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const bin = findExecutable(mode, env);
  if (!bin)
    throw new RuntimeError('RUNTIME_NETWORK_UNAVAILABLE', `--network ${mode}: ${mode} is not installed`, {
      hint: `install it (apt-get install ${mode === 'pasta' ? 'passt' : 'slirp4netns'}), or use the other stack`,
    });
  try {
    accessSync('/dev/net/tun', C.R_OK | C.W_OK);
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'does not exist (no tun module)'
        : 'is not usable by you';
    throw new RuntimeError(
      'RUNTIME_NETWORK_UNAVAILABLE',
      `--network ${mode}: /dev/net/tun ${why}; user-mode networking needs it`,
      {
        hint: 'it is mode 0666 on most distributions: as root, `chmod 0666 /dev/net/tun` (and `modprobe tun` if it is missing); or run with --network none',
      },
    );
  }
  return bin;
}

/** The hook's configuration for a container. */
export function hookConfig(
  o: RunOptions,
  net: ContainerNetwork,
  binary: string,
  files: { apiSocket: string; stateFile: string; logFile: string },
): NetworkHookConfig {
  return {
    mode: net.stack,
    binary,
    ...files,
    ports: (o.ports ?? []) as PortSpec[],
    hostLoopback: net.hostLoopback,
    mtu: 65520,
    timeoutMs: 10_000,
  };
}
