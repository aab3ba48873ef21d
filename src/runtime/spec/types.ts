/**
 * The spec generator's inputs and result: run options, the image's config, the ID maps and the
 * host facts, all passed in as data so that generation stays a pure function (no I/O in spec/).
 */
import type { IdMaps } from '../../userns/idmap.js';
import type { Rlimit } from '../host.js';
import type { OciHook, OciSeccomp, OciSpec } from '../oci.js';
import type { RunOptions } from '../options.js';

/** The `config` object of an OCI image config (the parts a run uses). */
export interface ImageRunConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  /** EXPOSEd ports (`80/tcp`): Landlock's declared TCP ports (landlock.ts). */
  ExposedPorts?: Record<string, object> | null;
}

export interface SpecHost {
  arch: string;
  rlimits: Record<string, Rlimit>;
  /** Static init binary for --init (tini-static), if installed: used when moat-init is not built. */
  initPath?: string;
  /** moat's own init (native/moat-init.c: Landlock, and --init), if built. */
  moatInit?: string;
  /** The kernel's Landlock ABI (0: none; undefined: not probed, as none). */
  landlockAbi?: number;
  /** CPUs available to containers (the bound of --cpus), if known. */
  cpus?: number;
}

export interface SpecPaths {
  rootfs: string;
  /** Files moat writes for the container and bind-mounts read-only. */
  hosts?: string;
  hostname?: string;
  /** The container's /etc/resolv.conf (containers with a network). */
  resolv?: string;
}

export interface SpecInput {
  id: string;
  opts: RunOptions;
  image: ImageRunConfig;
  idmaps: IdMaps;
  host: SpecHost;
  paths: SpecPaths;
  /** The resolved seccomp filter, or null for none (only with an explicit unconfined opt-in). */
  seccomp: OciSeccomp | null;
  /** The image's /etc/passwd and /etc/group text, to resolve user names and primary groups. */
  passwd?: string;
  group?: string;
  /** RLIMIT_NPROC moat sets when it is the process limit (no delegated pids cgroup), see default-limits.ts. */
  defaultNproc?: number;
  /**
   * The AppArmor profile the process runs under (loaded on the host: plan.ts checked), or none.
   */
  apparmorProfile?: string;
  /** runc's createRuntime hooks (the network stack's, network/plan.ts). */
  hooks?: OciHook[];
}

export type LandlockMode = 'default' | 'off' | 'strict';

/** Landlock as applied, as the policy sees it (spec/landlock.ts; the `io.moat.landlock` annotation). */
export interface LandlockFacts {
  enabled: boolean;
  /** The kernel's Landlock ABI as moat found it (0: none, or not known). */
  abi: number;
  mode: LandlockMode;
  /** Where the write-class rights are granted (beneath each). */
  writable: string[];
  /** Where only files that exist may be written (beneath each). */
  writable_files: string[];
  /**
   * Landlock's TCP rules (ABI ≥ 4; `--security-opt landlock-bind=`, `landlock-connect=`): the
   * ports a process may bind (resp. connect to), sorted; null: not restricted.
   */
  net: LandlockNet;
}

/** The TCP ports Landlock lets a container bind and connect to; null: not restricted. */
export interface LandlockNet {
  bind: number[] | null;
  connect: number[] | null;
}

export interface SpecResult {
  spec: OciSpec;
  warnings: string[];
  /** Landlock as applied (also in the spec's `io.moat.landlock` annotation). */
  landlock: LandlockFacts;
  /**
   * The command as `ps` and `inspect` show it: the user's, after `/dev/init --` with --init, without
   * moat-init's Landlock options (process.args has them).
   */
  command: string[];
}
