/** The subset of the OCI runtime spec (v1.0.2) that moat generates. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: OciSeccompArg[] }[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>;
    rlimits: OciRlimit[];
    noNewPrivileges: boolean;
    /** Written by runc to /proc/self/oom_score_adj (a rootless process can only raise it). */
    oomScoreAdj?: number;
    /** The AppArmor profile runc applies at exec (loaded on the host; see plan.ts). */
    apparmorProfile?: string;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: OciSeccomp;
    /** Namespaced kernel parameters, set by runc inside the container's namespaces. */
    sysctl?: Record<string, string>;
    resources?: Record<string, unknown>;
  };
  annotations: Record<string, string>;
  /**
   * runc's hooks: moat's network hook (network/hook.ts) when the container has a network; the
   * command's lookup when moat-init runs first (spec/landlock.ts).
   */
  hooks?: { createRuntime?: OciHook[]; createContainer?: OciHook[] };
}

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}
