/**
 * A container's network as it starts, for what only the start can know:
 *
 * - On user-defined networks (its own, or ones it was connected to): the networks' holders are
 *   made if they are not running (infra.ts), the hook's configuration gets this start's links, the
 *   spec gets the hook if it had none (a container connected while stopped), and the launcher is
 *   to make the container's namespaces inside the infra user namespace (returned).
 * - `--network container:NAME`: that container must run; the spec joins its network namespace by
 *   its init's pid, and the launcher its user namespace (the only one that may enter it).
 */
import { chmodSync, lchownSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { withLock } from '../../util/lock.js';
import type { UsernsTools } from '../../userns/exec.js';
import { processStartTime } from '../../util/proc.js';
import type { MoatPaths } from '../../util/paths.js';
import { RuntimeError } from '../errors.js';
import { NETWORK_HOOK } from '../helper-paths.js';
import type { OciSpec } from '../oci.js';
import { containerDirs, type ContainerRecord, type ContainerStore } from '../state.js';
import { networksOf } from './endpoints.js';
import type { NetworkHookConfig } from './hook.js';
import { ensureHolder, ipBinary } from './infra.js';
import { linkTo, type LinkSpec } from './links.js';
import { networkHook } from './plan.js';
import { networksLock, NetworkStore } from './store.js';

export interface StartNetworkDeps {
  paths: MoatPaths;
  store: ContainerStore;
  tools: UsernsTools;
  /** For root: container root's IDs (the hook reads its configuration as container root). */
  cgroupOwner?: { uid: number; gid: number };
}

/** The process whose user namespace the launcher is to enter (undefined: a fresh one). */
export interface NetworkAtStart {
  usernsPid?: number;
}

/** `container:NAME` → NAME; undefined for any other mode. */
export function sharedWith(network: string | undefined): string | undefined {
  return network?.startsWith('container:') ? network.slice('container:'.length) : undefined;
}

function readSpec(file: string): OciSpec {
  return JSON.parse(readFileSync(file, 'utf8')) as OciSpec;
}

export async function networkAtStart(deps: StartNetworkDeps, rec: ContainerRecord): Promise<NetworkAtStart> {
  const d = containerDirs(deps.paths, rec.id);
  const specFile = path.join(d.bundle, 'config.json');
  const other = sharedWith(rec.options.network);
  if (other !== undefined) {
    const target = await deps.store.resolve(other);
    if (target.status !== 'running' || !target.pid || !processStartTime(target.pid))
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `--network container:${other}: container ${target.name} is not running (its network namespace is what this one joins)`,
        { hint: `start ${target.name} first` },
      );
    const spec = readSpec(specFile);
    const ns = spec.linux?.namespaces ?? [];
    spec.linux = {
      ...spec.linux,
      namespaces: [
        ...ns.filter((n) => n.type !== 'network'),
        { type: 'network', path: `/proc/${target.pid}/ns/net` },
      ],
    };
    writeFileSync(specFile, JSON.stringify(spec, null, 2));
    return { usernsPid: target.pid };
  }

  const store = new NetworkStore(deps.paths);
  const mine = networksOf(rec.id, await store.list());
  if (!mine.length) {
    // Disconnected from all while stopped: nothing to link (the stack, if any, is unchanged).
    const cfg = readConfig(d.networkConfig);
    if (cfg?.links?.length) writeFileSync(d.networkConfig, JSON.stringify({ ...cfg, links: [] }, null, 2));
    return {};
  }
  const ip = ipBinary();
  const links: LinkSpec[] = [];
  let infraPid = 0;
  await withLock(networksLock(deps.paths), async () => {
    for (const [i, n] of mine.entries()) {
      const { holder, infra } = await ensureHolder(deps.paths, deps.tools, n);
      infraPid = infra.pid;
      links.push(linkTo(rec.id, holder, n, `eth${i}`));
    }
  });
  const base: NetworkHookConfig = readConfig(d.networkConfig) ?? {
    mode: 'none',
    binary: '',
    apiSocket: '',
    stateFile: d.networkState,
    logFile: d.networkLog,
    ports: [],
    hostLoopback: false,
    mtu: 65520,
    timeoutMs: 10_000,
  };
  writeFileSync(
    d.networkConfig,
    JSON.stringify({ ...base, links, ip, nsenter: deps.tools.nsenter }, null, 2),
    {
      mode: 0o600,
    },
  );
  if (deps.cgroupOwner) {
    lchownSync(d.networkConfig, process.getuid?.() ?? 0, deps.cgroupOwner.gid);
    chmodSync(d.networkConfig, 0o640);
  }
  const spec = readSpec(specFile);
  const hooks = spec.hooks?.createRuntime ?? [];
  if (!hooks.some((h) => h.args?.[1] === NETWORK_HOOK)) {
    spec.hooks = { ...spec.hooks, createRuntime: [...hooks, networkHook(d.networkConfig)] };
    writeFileSync(specFile, JSON.stringify(spec, null, 2));
  }
  return { usernsPid: infraPid };
}

function readConfig(file: string): NetworkHookConfig | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NetworkHookConfig;
  } catch {
    return undefined;
  }
}
