/**
 * What supervising, reconciling and removing containers need — the store, runc, the host and the
 * user-namespace tools — without the rest of the engine (images, seccomp, spec generation). The
 * Engine is one; a container's monitor opens its own (`openLifecycle`), so the process every run
 * starts loads only this part of moat.
 */
import type { UsernsTools } from '../userns/exec.js';
import { resolvePaths, type MoatPaths } from '../util/paths.js';
import { detectHost, type HostFacts } from './host.js';
import { containerRootOwner, runcConfig, usernsTools } from './host-tools.js';
import type { RuncConfig } from './runc.js';
import { ContainerStore } from './state.js';
import type { SuperviseDeps } from './supervise.js';

export interface Lifecycle {
  readonly containers: ContainerStore;
  readonly runc: RuncConfig;
  readonly deps: {
    paths: MoatPaths;
    host: HostFacts;
    log?: (msg: string, extra?: Record<string, unknown>) => void;
  };
  /** The user-namespace tools, or a clear error saying what the host lacks. */
  tools(): UsernsTools;
}

/** What supervise() needs, from a lifecycle. */
export function superviseDeps(l: Lifecycle): SuperviseDeps {
  const tools = l.tools();
  return {
    paths: l.deps.paths,
    store: l.containers,
    tools,
    runc: l.runc,
    cgroup: l.deps.host.cgroup,
    // For root, container root is the start of root's range: it must be able to join the cgroups.
    cgroupOwner: containerRootOwner(l.deps.host, () => tools),
    log: l.deps.log,
  };
}

/**
 * A lifecycle from the environment, for a container's monitor: the directories exist already
 * (the container was created), so nothing is made here.
 */
export function openLifecycle(env: NodeJS.ProcessEnv = process.env): Lifecycle {
  const paths = resolvePaths(env);
  const host = detectHost(env);
  let tools: UsernsTools | undefined;
  return {
    containers: new ContainerStore(paths),
    runc: runcConfig(host, paths),
    deps: { paths, host },
    tools: () => (tools ??= usernsTools(host, paths)),
  };
}
