/**
 * Resources the spec itself sets: rlimits (moat's process-limit default, no core dumps, the
 * user's `--ulimit` bounded by the host's hard limits) and the OOM score. Memory, pids and CPU
 * limits are cgroup settings applied around runc, not spec fields; the /dev/shm size is a mount
 * (mounts.ts). Pure: the host's limits are passed in.
 */
import type { OciRlimit, OciSpec } from '../oci.js';
import { RLIMIT_OF } from '../option-checks.js';
import type { RunOptions } from '../options.js';
import type { SpecHost } from './types.js';

export function buildRlimits(
  opts: RunOptions,
  host: SpecHost,
  errors: string[],
  defaultNproc?: number,
): OciRlimit[] {
  const out = new Map<string, OciRlimit>();
  if (defaultNproc !== undefined)
    out.set('RLIMIT_NPROC', { type: 'RLIMIT_NPROC', soft: defaultNproc, hard: defaultNproc });
  // No core dumps by default: they would land inside the container's files with its secrets.
  const coreHard = host.rlimits.RLIMIT_CORE?.hard;
  out.set('RLIMIT_CORE', { type: 'RLIMIT_CORE', soft: 0, hard: typeof coreHard === 'number' ? coreHard : 0 });
  for (const u of opts.ulimits) {
    // Names are checked (runOptionProblems): only RLIMIT_OF's own keys reach here.
    if (!Object.hasOwn(RLIMIT_OF, u.name)) continue;
    const type = RLIMIT_OF[u.name];
    const hostHard = host.rlimits[type]?.hard;
    // An unprivileged process cannot raise a hard limit; say so instead of letting runc fail late.
    if (typeof hostHard === 'number' && u.hard > hostHard) {
      errors.push(
        `--ulimit ${u.name}=${u.soft}:${u.hard} exceeds the host's hard limit ${hostHard} for ${type}`,
      );
    }
    out.set(type, { type, soft: u.soft, hard: u.hard });
  }
  return [...out.values()];
}

/** `--oom-score-adj`, when given (runc writes it; a rootless process can only raise it). */
export function oomScoreAdj(opts: RunOptions): Pick<OciSpec['process'], 'oomScoreAdj'> {
  return opts.oomScoreAdj !== undefined ? { oomScoreAdj: opts.oomScoreAdj } : {};
}
