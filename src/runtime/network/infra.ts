/**
 * The namespaces user-defined networks live in, rootless.
 *
 * Moving one end of a veth into a container's network namespace needs CAP_NET_ADMIN over both
 * namespaces, so a network's bridge and the containers on it must share a user namespace that
 * moat's user is root of. That is the *infra* user namespace: held by one `sleep infinity` per
 * user (podman's rootless pause process plays this part), with the same ID mapping as every
 * container (its root is the caller, its other IDs the subordinate range). Each network has a
 * *holder*: a `sleep infinity` in its own network namespace, made inside the infra one, with the
 * bridge `br0` carrying the network's gateway address. Networks are isolated from each other by
 * being different namespaces with no route between them; a holder has no link out at all (outbound
 * access is each container's own slirp4netns, see hook.ts).
 *
 * Both are started on demand (a container start, a connect) and recorded by pid and start time
 * under moat's runtime directory; a reboot or a kill only means they are made again. A holder made
 * for an infra namespace that has since gone is ended and made again. Callers hold networksLock.
 */
import { spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MoatPaths } from '../../util/paths.js';
import { processAlive, processStartTime } from '../../util/proc.js';
import { nsenterArgv, unshareArgv, type UsernsTools } from '../../userns/exec.js';
import { RuntimeError } from '../errors.js';
import { findExecutable } from '../host.js';
import { runIp } from './links.js';
import type { NetworkRecord } from './store.js';

export interface ProcRef {
  pid: number;
  start: string;
}

interface HolderFile extends ProcRef {
  /** The infra process whose namespace it was made in. */
  infra: ProcRef;
  subnet: string;
}

const netnsDir = (paths: MoatPaths) => path.join(paths.runtime, 'netns');
const infraFile = (paths: MoatPaths) => path.join(netnsDir(paths), 'infra.json');
const holderFile = (paths: MoatPaths, id: string) => path.join(netnsDir(paths), `${id.slice(0, 24)}.json`);

async function readRef<T extends ProcRef>(file: string): Promise<T | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as T;
    return Number.isInteger(v.pid) && v.pid > 0 && typeof v.start === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** `sleep infinity` (by its absolute path) on /proc's cmdline. */
const SLEEPING = /^(\/[^\0]*\/)?sleep\0infinity\0$/;

/** A recorded process that still runs `sleep infinity` (a reused pid is not it). */
function live(ref: ProcRef | undefined): ref is ProcRef {
  if (!ref || !processAlive(ref.pid, ref.start)) return false;
  try {
    return SLEEPING.test(readFileSync(`/proc/${ref.pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/** Wait (bounded) until `pid` has exec'd `sleep infinity`: its namespaces are then set up. */
async function started(pid: number, what: string): Promise<ProcRef> {
  for (let i = 0; i < 400; i++) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      break; // gone
    }
    const start = processStartTime(pid);
    if (SLEEPING.test(cmd) && start) return { pid, start };
    await new Promise((r) => setTimeout(r, 5));
  }
  // Never left behind: a process that did not become what it should is ended.
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
  throw new RuntimeError('RUNTIME_NETWORK_UNAVAILABLE', `could not make ${what}`, {
    hint: 'user namespaces must be usable (moat info); moat network inspect shows the network',
  });
}

function spawnDetached(argv: string[]): number {
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: 'ignore' });
  child.on('error', () => {});
  child.unref();
  if (!child.pid) throw new RuntimeError('RUNTIME_NETWORK_UNAVAILABLE', `could not start ${argv[0]}`);
  return child.pid;
}

function sleepBinary(): string {
  const s = findExecutable('sleep');
  if (!s) throw new RuntimeError('RUNTIME_NETWORK_UNAVAILABLE', 'sleep (coreutils) is not installed');
  return s;
}

export function ipBinary(): string {
  const ip = findExecutable('ip');
  if (!ip)
    throw new RuntimeError(
      'RUNTIME_NETWORK_UNAVAILABLE',
      'user-defined networks need ip (iproute2), which is not installed',
      {
        hint: 'apt-get install iproute2',
      },
    );
  return ip;
}

/** The infra process (its user namespace), started if it is not running. */
export async function ensureInfra(paths: MoatPaths, tools: UsernsTools): Promise<ProcRef> {
  const cur = await readRef<ProcRef>(infraFile(paths));
  if (live(cur)) return cur;
  const pid = spawnDetached(unshareArgv(tools, [sleepBinary(), 'infinity']));
  const ref = await started(pid, "the networks' user namespace");
  await fsp.mkdir(netnsDir(paths), { recursive: true, mode: 0o700 });
  await fsp.writeFile(infraFile(paths), JSON.stringify(ref), { mode: 0o600 });
  return ref;
}

/** The infra process if it runs (undefined otherwise: nothing is started). */
export async function currentInfra(paths: MoatPaths): Promise<ProcRef | undefined> {
  const cur = await readRef<ProcRef>(infraFile(paths));
  return live(cur) ? cur : undefined;
}

/** The network's holder (its namespace, bridge up), made if it is not running. */
export async function ensureHolder(
  paths: MoatPaths,
  tools: UsernsTools,
  net: NetworkRecord,
): Promise<{ holder: ProcRef; infra: ProcRef }> {
  const infra = await ensureInfra(paths, tools);
  const cur = await readRef<HolderFile>(holderFile(paths, net.id));
  if (
    live(cur) &&
    cur.infra.pid === infra.pid &&
    cur.infra.start === infra.start &&
    cur.subnet === net.subnet
  )
    return { holder: cur, infra };
  if (live(cur)) process.kill(cur.pid, 'SIGKILL');
  const ip = ipBinary();
  const pid = spawnDetached(
    nsenterArgv(tools, infra.pid, [tools.unshare, '--net', '--', sleepBinary(), 'infinity']),
  );
  const holder = await started(pid, `the namespace of network ${net.name}`);
  const prefix = net.subnet.split('/')[1];
  try {
    await runIp(
      nsenterArgv(tools, infra.pid, [tools.nsenter, `--net=/proc/${holder.pid}/ns/net`, '--', ip, '-b', '-']),
      [
        'link set lo up',
        'link add br0 type bridge',
        `addr add ${net.gateway}/${prefix} dev br0`,
        'link set br0 up',
      ],
      `the bridge of network ${net.name}`,
    );
  } catch (e) {
    process.kill(holder.pid, 'SIGKILL');
    throw e;
  }
  const file: HolderFile = { ...holder, infra, subnet: net.subnet };
  await fsp.mkdir(netnsDir(paths), { recursive: true, mode: 0o700 });
  await fsp.writeFile(holderFile(paths, net.id), JSON.stringify(file), { mode: 0o600 });
  return { holder, infra };
}

/** The network's holder if it runs in the current infra namespace. */
export async function currentHolder(paths: MoatPaths, net: NetworkRecord): Promise<ProcRef | undefined> {
  const infra = await currentInfra(paths);
  const cur = await readRef<HolderFile>(holderFile(paths, net.id));
  return infra && live(cur) && cur.infra.pid === infra.pid && cur.infra.start === infra.start
    ? cur
    : undefined;
}

/** End the network's holder (its bridge goes with it). */
export async function stopHolder(paths: MoatPaths, id: string): Promise<void> {
  const cur = await readRef<HolderFile>(holderFile(paths, id));
  if (live(cur)) process.kill(cur.pid, 'SIGKILL');
  await fsp.rm(holderFile(paths, id), { force: true });
}

/** End the infra process (when no network is left: its namespace lives on in running containers). */
export async function stopInfra(paths: MoatPaths): Promise<void> {
  const cur = await readRef<ProcRef>(infraFile(paths));
  if (live(cur)) process.kill(cur.pid, 'SIGKILL');
  await fsp.rm(infraFile(paths), { force: true });
}
