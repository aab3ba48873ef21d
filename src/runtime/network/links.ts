/**
 * A container's links to user-defined networks: one veth pair per network, its host end
 * (`vm<id12>`) on the network's bridge in the holder's namespace (infra.ts), its other end
 * (`eth0`, `eth1`, ...) in the container's namespace with the container's address. Made by the
 * network hook as a container starts, and by `network connect` on a running container; a link
 * goes away with the container's namespace, or with `network disconnect`. Everything here runs as
 * root of the infra user namespace: `ip` is driven through its batch mode (`ip -b -`).
 */
import { spawn } from 'node:child_process';

export interface LinkSpec {
  /** The holder of the network's namespace, checked by start time before use. */
  holderPid: number;
  holderStart: string;
  /** The bridge port's name in the holder: unique per container there. */
  hostIf: string;
  /** The name inside the container (eth0, eth1, ...). */
  ifname: string;
  ip: string;
  prefix: number;
  network: string;
}

/** The host end's name: `vm` and the container ID's first 12 digits (IFNAMSIZ is 16). */
export const hostIfOf = (containerId: string): string => `vm${containerId.slice(0, 12)}`;

/** Container `id`'s link to `net` through its holder, named `ifname` inside. */
export function linkTo(
  id: string,
  holder: { pid: number; start: string },
  net: { name: string; subnet: string; endpoints: Record<string, { ip: string }> },
  ifname: string,
): LinkSpec {
  return {
    holderPid: holder.pid,
    holderStart: holder.start,
    hostIf: hostIfOf(id),
    ifname,
    ip: net.endpoints[id].ip,
    prefix: Number(net.subnet.split('/')[1]),
    network: net.name,
  };
}

const IFNAME = /^[a-z][a-z0-9]{0,14}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The ip commands for the holder's side and the container's side of a link (pure). */
export function linkCommands(l: LinkSpec, containerPid: number): { holder: string[]; container: string[] } {
  if (!IFNAME.test(l.hostIf) || !IFNAME.test(l.ifname) || !IPV4.test(l.ip) || !Number.isInteger(containerPid))
    throw new Error(`refusing a malformed link ${JSON.stringify(l).slice(0, 200)}`);
  return {
    holder: [
      `link add ${l.hostIf} type veth peer name ${l.ifname} netns ${containerPid}`,
      `link set ${l.hostIf} master br0`,
      `link set ${l.hostIf} up`,
    ],
    container: [`addr add ${l.ip}/${l.prefix} dev ${l.ifname}`, `link set ${l.ifname} up`],
  };
}

/**
 * Run `argv` (an `ip -b -`, maybe behind nsenter) with `commands` on its stdin; `fd3` is handed
 * to it as file descriptor 3 (a namespace opened by the caller). Rejects with ip's own words.
 */
export function runIp(argv: string[], commands: string[], what: string, fd3?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe', ...(fd3 === undefined ? [] : [fd3])],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: could not run ${argv[0]}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${what}: ${err.trim().split('\n').slice(-2).join('; ') || `ip ended with ${code ?? signal}`}`,
          ),
        );
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(commands.map((c) => `${c}\n`).join(''));
  });
}
