/**
 * `input.facts.host` for every route that runs something (run, create, start, exec): the paths
 * moat protects (host-facts.ts), the OCI runtime with its unfixed advisories, and whether the
 * caller's supplementary groups reach the container (src/runtime/runtime-facts.ts). Reads only
 * what is known; the runtime's facts are computed once per process.
 */
import type { Engine } from '../runtime/engine.js';
import type { HostFacts } from '../runtime/host.js';
import { groupsReachContainers, runtimeFacts } from '../runtime/runtime-facts.js';
import { protectedPaths } from './host-facts.js';
import { policyPaths } from './policy-hook.js';

export function hostFacts(engine: Engine): Record<string, unknown> {
  const h = engine.deps.host;
  // A host whose facts are missing (a test's stand-in engine) gives what can be known: the
  // groups are then assumed to reach the container (the policy's rule fails closed on it).
  const maps = h.idmaps as HostFacts['idmaps'] | undefined;
  const mode = !maps || 'error' in maps ? 'unavailable' : maps.mode;
  const rt = runtimeFacts(h.tools?.runc, engine.deps.paths?.runtime);
  return {
    ...protectedPaths(engine.deps.paths, policyPaths()),
    runtime: { name: rt.name, version: rt.version, package: rt.package, unfixed: rt.unfixed },
    supplementary_groups_reach_containers: mode === 'unavailable' ? true : groupsReachContainers(mode),
  };
}
