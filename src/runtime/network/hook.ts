/**
 * `node dist/runtime/network/hook.js CONFIG`: runc's createRuntime hook for a container with a
 * network (`--network slirp4netns|pasta`, or `-p` without `--network`). runc runs it once the
 * container's namespaces exist and before its command starts, inside moat's user namespace (as its
 * root, which owns the new network namespace), with the container's state (its init's pid) on
 * stdin. It starts the user-mode network stack on that network namespace, waits until the stack
 * says it is up, publishes the ports, writes what it did to the state file (the stack's pid and
 * the host ports chosen) and exits: the command then starts with its network ready. Any failure
 * is written on stderr (runc reports it as the start's error) and exits 1: nothing runs half
 * connected. The stack outlives the hook (its own session, stdio closed so runc does not wait on
 * it); the container's monitor stops it when the container ends.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { processStartTime } from '../../util/proc.js';
import { linkCommands, runIp, type LinkSpec } from './links.js';
import type { PortSpec } from './ports.js';

export interface NetworkHookConfig {
  /** The user-mode stack giving outbound access; `none` for a container on internal networks only. */
  mode: 'slirp4netns' | 'pasta' | 'none';
  /** The stack's binary (slirp4netns or pasta), absolute. */
  binary: string;
  /** slirp4netns's API socket (port forwards are added through it). */
  apiSocket: string;
  /** Where the hook writes `{ pid, ports }` (NetworkState). */
  stateFile: string;
  /** The stack's own log (its stderr). */
  logFile: string;
  ports: PortSpec[];
  /** Let the container reach the host's loopback (never by default). */
  hostLoopback: boolean;
  mtu: number;
  /** How long the stack may take to come up, ms. */
  timeoutMs: number;
  /** Links to user-defined networks (links.ts), written at each start; with `ip` and `nsenter`. */
  links?: LinkSpec[];
  ip?: string;
  nsenter?: string;
}

export interface NetworkState {
  pid: number;
  mode: Exclude<NetworkHookConfig['mode'], 'none'>;
  /** The ports as published: host ports chosen where 0 was asked. */
  ports: PortSpec[];
}

/** slirp4netns's guest address (its default network 10.0.2.0/24). */
export const SLIRP_GUEST_IP = '10.0.2.100';

const fail = (msg: string): never => {
  throw new Error(msg);
};

/** A free port on `ip` for `protocol`, as the kernel picks one (bound, then let go). */
async function freePort(ip: string, protocol: 'tcp' | 'udp'): Promise<number> {
  if (protocol === 'udp') {
    const dgram = await import('node:dgram');
    const s = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, ip, () => resolve());
    });
    const p = s.address().port;
    s.close();
    return p;
  }
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, ip, () => resolve());
  });
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/** One request on slirp4netns's API socket; its answer. */
function slirpApi(socket: string, req: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let data = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('slirp4netns did not answer on its API socket'));
    }, 5000);
    c.on('connect', () => c.end(JSON.stringify(req)));
    c.on('data', (b: Buffer) => {
      if (data.length < 65536) data += b.toString();
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data) as Record<string, unknown>);
      } catch {
        reject(new Error(`slirp4netns answered ${JSON.stringify(data.slice(0, 200))}`));
      }
    });
  });
}

/** Start the stack detached; resolves with its pid once it is ready (or rejects with why not). */
function startStack(
  cfg: NetworkHookConfig,
  argv: string[],
  readyFd: boolean,
  passFd?: number,
): Promise<number> {
  const log = openSync(cfg.logFile, 'a', 0o600);
  const child = spawn(cfg.binary, argv, {
    detached: true,
    stdio: ['ignore', log, log, readyFd ? 'pipe' : (passFd ?? 'ignore')],
  });
  closeSync(log);
  if (passFd !== undefined) closeSync(passFd);
  return new Promise((resolve, reject) => {
    const logTail = () => {
      try {
        return readFileSync(cfg.logFile, 'utf8').trim().split('\n').slice(-3).join('; ');
      } catch {
        return '';
      }
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cfg.mode} did not come up within ${cfg.timeoutMs} ms: ${logTail()}`));
    }, cfg.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${cfg.binary}: ${e.message}`));
    });
    const exited = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${cfg.mode} exited (status ${code}) before the network was up: ${logTail()}`));
    };
    if (readyFd) {
      child.once('exit', exited);
      const ready = child.stdio[3]!;
      ready.once('data', () => {
        clearTimeout(timer);
        child.removeListener('exit', exited);
        ready.destroy();
        child.unref();
        resolve(child.pid!);
      });
    } else {
      // pasta forks into the background once the namespace is configured; its parent exits 0.
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code !== 0) return exited(code);
        resolve(0);
      });
    }
  });
}

/**
 * Link the container to its user-defined networks (links.ts): the hook runs as root of the infra
 * user namespace, which owns both the holders' namespaces and the container's. The container's
 * namespace is opened here and handed to nsenter as fd 3 (runc's init is not dumpable yet).
 */
async function attachLinks(cfg: NetworkHookConfig, statePid: number, netns: string): Promise<void> {
  if (!cfg.links?.length) return;
  if (!cfg.ip || !cfg.nsenter) fail('the network configuration names no ip or nsenter');
  for (const l of cfg.links) {
    const { holder, container } = linkCommands(l, statePid);
    if (processStartTime(l.holderPid) !== l.holderStart)
      fail(`network ${l.network} is not up any more (its namespace is gone): start the container again`);
    await runIp(
      [cfg.nsenter!, `--net=/proc/${l.holderPid}/ns/net`, '--', cfg.ip!, '-b', '-'],
      holder,
      `network ${l.network}`,
    );
    const fd = openSync(netns, 'r');
    try {
      await runIp(
        [cfg.nsenter!, '--net=/proc/self/fd/3', '--', cfg.ip!, '-b', '-'],
        container,
        `network ${l.network}`,
        fd,
      );
    } finally {
      closeSync(fd);
    }
  }
}

export async function runHook(cfg: NetworkHookConfig, statePid: number): Promise<NetworkState | undefined> {
  if (!Number.isInteger(statePid) || statePid <= 0) fail('runc gave the hook no container pid');
  const netns = `/proc/${statePid}/ns/net`;
  // Links first: they take eth0, eth1, ...; the stack's own interface (tap0) is the default route.
  await attachLinks(cfg, statePid, netns);
  if (cfg.mode === 'none') return undefined;
  const ports: PortSpec[] = [];
  for (const p of cfg.ports)
    ports.push({ ...p, hostPort: p.hostPort || (await freePort(p.hostIp, p.protocol)) });
  let pid: number;
  if (cfg.mode === 'slirp4netns') {
    pid = await startStack(
      cfg,
      [
        '--configure',
        `--mtu=${cfg.mtu}`,
        ...(cfg.hostLoopback ? [] : ['--disable-host-loopback']),
        '--enable-sandbox',
        '--enable-seccomp',
        `--api-socket=${cfg.apiSocket}`,
        '--ready-fd=3',
        '--netns-type=path',
        netns,
        'tap0',
      ],
      true,
    );
    try {
      for (const p of ports) {
        const r = await slirpApi(cfg.apiSocket, {
          execute: 'add_hostfwd',
          arguments: {
            proto: p.protocol,
            host_addr: p.hostIp,
            host_port: p.hostPort,
            guest_port: p.containerPort,
          },
        });
        if (r.error)
          fail(
            `could not publish ${p.hostIp}:${p.hostPort} -> ${p.containerPort}/${p.protocol}: ${JSON.stringify(r.error).slice(0, 200)} (is the port taken?)`,
          );
      }
    } catch (e) {
      process.kill(pid, 'SIGKILL');
      throw e;
    }
  } else {
    const pidFile = `${cfg.stateFile}.pasta-pid`;
    const spec = (p: PortSpec) => `${p.hostIp}/${p.hostPort}:${p.containerPort}`;
    await startStack(
      cfg,
      [
        '--config-net',
        '--quiet',
        // Root of moat's user namespace stays itself: as "nobody" it could not open the netns.
        '--runas',
        '0:0',
        `--mtu=${cfg.mtu}`,
        ...(cfg.hostLoopback ? [] : ['--no-map-gw']),
        // Its interface would take the host's name (often eth0, which a link may hold).
        ...(cfg.links?.length ? ['--ns-ifname', 'tap0'] : []),
        '--pid',
        pidFile,
        ...ports.filter((p) => p.protocol === 'tcp').flatMap((p) => ['-t', spec(p)]),
        ...ports.filter((p) => p.protocol === 'udp').flatMap((p) => ['-u', spec(p)]),
        ...(ports.some((p) => p.protocol === 'tcp') ? [] : ['-t', 'none']),
        ...(ports.some((p) => p.protocol === 'udp') ? [] : ['-u', 'none']),
        '-T',
        'none',
        '-U',
        'none',
        // The namespace opened here and handed over as fd 3: pasta cannot open runc's init's
        // /proc entries itself (runc init is not dumpable while it sets the container up).
        '--netns',
        '/proc/self/fd/3',
      ],
      false,
      openSync(netns, 'r'),
    );
    pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) fail('pasta wrote no pid');
  }
  return { pid, mode: cfg.mode, ports };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8')) as NetworkHookConfig;
  const stdin = readFileSync(0, 'utf8');
  const statePid = (JSON.parse(stdin) as { pid?: number }).pid ?? 0;
  const state = await runHook(cfg, statePid);
  if (!state) return;
  const tmp = `${cfg.stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, cfg.stateFile);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    process.stderr.write(`moat network: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
