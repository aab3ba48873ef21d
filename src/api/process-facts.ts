/**
 * The process a request makes run, as the policy sees it (`facts.process`): the container's own
 * for run, create and start (from the OCI spec), the command `exec` starts for exec. exec's
 * process is what `runc exec` makes of the container's stored spec: its user, environment,
 * working directory and capabilities, overridden by exec's `-u`, `-e`, `-w`. One shape for all
 * four, so a rule about the user (require_non_root) is one rule.
 */
import type { ExecUser } from '../runtime/exec.js';
import type { OciSpec } from '../runtime/oci.js';

export interface ProcessFacts {
  /** The UID as text (as `run.user`); as typed when the name could not be resolved. */
  user: string;
  /** As typed (`exec -u`); absent when the process runs as the container's user. */
  raw_user?: string;
  /** Absent when `raw_user` names no user of the container's /etc/passwd (exec then fails). */
  uid?: number;
  gid?: number;
  additional_gids?: number[];
  cmd: string[];
  /** The environment it gets: the container's, then exec's `-e` (a later entry wins, as in runc). */
  env: string[];
  workdir: string;
  tty: boolean;
  /** Its capabilities (the effective set: every process of the container has the same), no `CAP_`. */
  capabilities: string[];
  no_new_privileges: boolean;
}

/** What exec asks for (the validated body of `container.exec`). */
export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  interactive?: boolean;
  tty?: boolean;
}

type SpecProcess = Partial<OciSpec['process']>;

function mergeEnv(base: string[], over: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const i = e.indexOf('=');
    const k = i < 0 ? e : e.slice(0, i);
    m.delete(k);
    m.set(k, e);
  }
  return [...m.values()];
}

/**
 * The process facts of the container's own process (`exec` undefined) or of exec's command.
 * `resolved`: exec's `-u` resolved against the container's /etc/passwd (undefined when it names
 * no user there, or when there is no `-u`).
 */
export function processFacts(
  spec: { process?: SpecProcess } | undefined,
  exec?: ExecRequest,
  resolved?: ExecUser,
): ProcessFacts {
  const p: SpecProcess = spec?.process ?? {};
  const caps = (p.capabilities?.effective ?? []).map((c) => c.replace(/^CAP_/, ''));
  const raw = exec?.user;
  const ids = raw
    ? resolved && { uid: resolved.uid, gid: resolved.gid, additionalGids: resolved.additionalGids }
    : p.user;
  return {
    user: ids ? String(ids.uid) : (raw ?? ''),
    ...(raw ? { raw_user: raw } : {}),
    ...(ids ? { uid: ids.uid, gid: ids.gid, additional_gids: [...(ids.additionalGids ?? [])] } : {}),
    cmd: exec ? [...exec.cmd] : [...(p.args ?? [])],
    env: mergeEnv(p.env ?? [], exec?.env ?? []),
    workdir: exec?.workdir ?? p.cwd ?? '/',
    tty: exec ? Boolean(exec.tty) : Boolean(p.terminal),
    capabilities: caps,
    no_new_privileges: p.noNewPrivileges === true,
  };
}
