/**
 * Supervision of one container run: set up cgroups, start the launcher (userns → overlay → runc
 * run), copy the container's output into its log (and to an attached client), record
 * the start and the exit status. This runs in the container's monitor process (monitor-main.ts),
 * for attached and detached containers alike, so a container outlives the CLI that started it
 * and always has its exit recorded (podman's conmon plays this part).
 *
 * This file is the room's face (its types and the order of the steps); the steps are in
 * supervise/: start.ts (launcher started, joined to the cgroups, recorded, let go), watch.ts (the
 * container's init, signals, memory) and finish.ts (the exit status or the start's failure,
 * recorded).
 */
import type { Readable, Writable } from 'node:stream';
import type { UsernsTools } from '../userns/exec.js';
import type { MoatPaths } from '../util/paths.js';
import type { CgroupFacts } from './host.js';
import type { RuncConfig } from './runc.js';
import type { ContainerRecord, ContainerStore } from './state.js';
import type { ConsoleClient } from './tty.js';
import { finishRun } from './supervise/finish.js';
import { startLauncher } from './supervise/start.js';
import { watchLauncher } from './supervise/watch.js';

export interface SuperviseDeps {
  paths: MoatPaths;
  store: ContainerStore;
  tools: UsernsTools;
  runc: RuncConfig;
  cgroup: CgroupFacts;
  /** For root: who container root is, so runc (running as that user) may join the cgroups. */
  cgroupOwner?: { uid: number; gid: number };
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export interface Attach {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** The client's terminal (a container with a terminal): its window, resizes, detaching. */
  console?: ConsoleClient;
}

export interface StartReport {
  pid?: number;
  error?: { code: string; message: string; exitCode: number };
}

export interface SuperviseHooks {
  /** Called once the container's init is running (or the start failed: then with an error). */
  onStarted?: (r: StartReport) => void;
  /**
   * Receives the function that delivers a signal to the container: through runc once it runs;
   * before that, a terminating signal ends the start (nothing else could: a start can hang).
   */
  onControl?: (deliver: (sig: NodeJS.Signals) => void) => void;
}

export interface RunOutcome {
  exitCode: number;
  started: boolean;
  error?: string;
  oomKilled?: boolean;
  /** The attached client detached (its terminal's detach keys): the container runs on. */
  detached?: boolean;
}

/** Run the container to its end. The record must be 'created' or 'exited'. */
export async function supervise(
  deps: SuperviseDeps,
  rec: ContainerRecord,
  attach?: Attach,
  hooks: SuperviseHooks = {},
): Promise<RunOutcome> {
  const launch = await startLauncher(deps, rec, attach);
  const watch = watchLauncher(deps, rec, launch, hooks);
  return finishRun(deps, rec, launch, watch, hooks);
}
