/**
 * Supervision of one container run: set up cgroups, start the launcher (userns → overlay → runc
 * run), copy the container's output into its log (and to an attached client), record
 * the start and the exit status. This runs in the container's monitor process (monitor-main.ts),
 * for attached and detached containers alike, so a container outlives the CLI that started it
 * and always has its exit recorded (podman's conmon plays this part).
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { isMoatError } from '../errors.js';
import { unshareArgv, type UsernsTools } from '../userns/exec.js';
import type { MoatPaths } from '../util/paths.js';
import { readUntrusted } from '../util/fsutil.js';
import { descendantOf, processStartTime } from '../util/proc.js';
import { mark } from '../util/timing.js';
import { createCgroups, joinCgroups, killCgroups, outOfMemory, removeCgroups } from './cgroups.js';
import { freshRunDir } from './container-dir.js';
import type { CgroupFacts } from './host.js';
import { killTree } from './kill.js';
import { prepareHostPaths, stageFailure } from './host-paths.js';
import { logConfigOf, LogWriter } from './logs/index.js';
import { spawnGated } from './gated-spawn.js';
import {
  lastRuncError,
  launcherArgv,
  runcDelete,
  runcKill,
  startFailureStatus,
  type RuncConfig,
} from './runc.js';
import { containerDirs, type ContainerRecord, type ContainerStore } from './state.js';

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
}

/** Signals that end a start that has not finished. */
const ABORTING = new Set<string>(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGKILL']);

const mib = (n: number): string => `${Number((n / 1048576).toFixed(1))}MiB`;

const signalStatus = (sig: string): number => 128 + (osConstants.signals[sig as NodeJS.Signals] ?? 0);

/** Save a change to the record, unless the container was removed meanwhile (rm -f). */
async function record(
  deps: SuperviseDeps,
  id: string,
  fn: (r: ContainerRecord) => void,
  o: { durable?: boolean } = {},
): Promise<boolean> {
  try {
    await deps.store.update(id, async (r) => {
      fn(r);
      await deps.store.save(r, o);
    });
    return true;
  } catch (e) {
    if (isMoatError(e) && e.code === 'RUNTIME_CONTAINER_NOT_FOUND') return false;
    throw e;
  }
}

/** Run the container to its end. The record must be 'created' or 'exited'. */
export async function supervise(
  deps: SuperviseDeps,
  rec: ContainerRecord,
  attach?: Attach,
  hooks: SuperviseHooks = {},
): Promise<RunOutcome> {
  const d = containerDirs(deps.paths, rec.id);
  // runc's pid file and log, and the launcher's exit status: written as container root, into a
  // directory of its own, emptied first (container-dir.ts).
  const pidFile = d.initPid;
  const runcLog = d.runcLog;
  await freshRunDir(d.dir, deps.cgroupOwner);
  await runcDelete(deps.runc, rec.id);
  // The host paths it mounts are still the ones the policy saw, and runc gets them staged.
  const run = prepareHostPaths(deps.paths, rec, deps.cgroupOwner);

  const cgroups = await createCgroups(rec.id, rec.limits, deps.cgroup, deps.cgroupOwner);
  const argv = unshareArgv(
    deps.tools,
    launcherArgv({
      lower: rec.lowerdir,
      upper: d.upper,
      work: d.work,
      rootfs: d.rootfs,
      runc: deps.runc,
      bundle: run.bundle,
      id: rec.id,
      pidFile,
      logFile: runcLog,
      statusFile: d.exitStatus,
      staged: run.staged,
    }),
    { mount: true },
  );
  mark('launcher spawned');
  // Written as it is read, rotated at its max-size (logs/writer.ts); an old record has no logConfig.
  const log = new LogWriter(d.log, {
    ...(rec.logConfig ?? logConfigOf(rec.options.log)),
    onError: (msg, e) => deps.log?.(msg, { id: rec.id, error: String(e) }),
  });
  // Output reaches an attached client once the command runs: before, it is runc's own, and a
  // failed start is reported as an error of its own, once (start-gate.ts). An attached client
  // that reads slowly slows the container down (its pipes fill), as with docker; one that went
  // away no longer does.
  const proc = spawnGated(argv, {
    stdin: attach?.stdin,
    stdout: attach?.stdout,
    stderr: attach?.stderr,
    tee: (stream, b) => log.write(stream, b),
    pauseTogether: true,
  });
  const { child, closed, output } = proc;

  // Join the cgroups before the launcher may go on: everything runc forks inherits them. The
  // launcher and the cgroups are recorded before it goes on: a launcher that runs is always one
  // the record names, so a start that never finishes can be ended (rm -f, fsck), and a container
  // whose monitor dies is known to live on while its launcher does. (A monitor killed before
  // the gate opens takes the launcher with it: its read of fd 3 ends.) Not fsynced: a reboot
  // ends these processes anyway, and the start waits for this write.
  try {
    if (child.pid) await joinCgroups(cgroups, child.pid);
    const kept = await record(
      deps,
      rec.id,
      (r) => {
        r.monitorPid = process.pid;
        r.monitorStart = processStartTime(process.pid);
        r.launcherPid = child.pid;
        r.launcherStart = child.pid ? processStartTime(child.pid) : undefined;
        r.cgroups = cgroups;
      },
      { durable: false },
    );
    if (!kept) throw new Error(`container ${rec.id.slice(0, 12)} was removed while it started`);
    proc.release();
    mark('launcher recorded and let go');
  } catch (e) {
    child.kill('SIGKILL');
    await closed;
    log.end();
    await removeCgroups(cgroups);
    throw e;
  }

  let started = false;
  let pid: number | undefined;
  let finished = false;
  // Why a start was cut short: a signal, or the memory limit it could not start within.
  let aborted: NodeJS.Signals | undefined;
  let oomBeforeStart = false;
  const endStart = async () => {
    await killCgroups(cgroups);
    killTree(child.pid);
  };
  hooks.onControl?.((sig) => {
    if (finished) return;
    if (pid !== undefined) {
      void runcKill(deps.tools, deps.runc, pid, rec.id, sig.replace(/^SIG/, '')).catch((e: unknown) =>
        deps.log?.('could not signal the container', { id: rec.id, sig, error: String(e) }),
      );
    } else if (ABORTING.has(sig)) {
      aborted ??= sig;
      void endStart();
    }
  });

  // Wait for the pid file runc writes once the container exists: inotify on the container's
  // directory wakes us when it appears (a slow poll covers filesystems without inotify).
  // Ends the current wait early: called by inotify, and once the launcher has exited.
  let wake: () => void = () => {};
  const watch = (async () => {
    let watcher: FSWatcher | undefined;
    try {
      watcher = fsWatch(d.run, (_ev, name) => {
        if (name === 'init.pid') wake();
      });
    } catch {
      watcher = undefined;
    }
    try {
      while (!started) {
        const txt = await readUntrusted(pidFile, 32);
        // Container root can write that file: the pid is taken only if it names a process the
        // launcher started (runc's init, below runc run), never one of the host's.
        if (txt.trim() && descendantOf(Number(txt.trim()), child.pid)) {
          pid = Number(txt.trim());
          started = true;
          mark('container started');
          output.open();
          await record(deps, rec.id, (r) => {
            r.status = 'running';
            r.pid = pid;
            r.startedAt = new Date().toISOString();
            delete r.exitCode;
            delete r.finishedAt;
            delete r.oomKilled;
            delete r.error;
            delete r.reconciled;
          });
          hooks.onStarted?.({ pid });
          return;
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, watcher ? 50 : 5);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    } finally {
      watcher?.close();
    }
  })();

  // Out of memory: on v1 the kernel pauses the container at its limit (oom_kill_disable); the
  // supervisor records it and kills the container. Before the container's command even started
  // (runc init itself did not fit), the start is ended the same way: it would never finish.
  let oom = false;
  const oomWatch =
    rec.limits.memory === undefined
      ? undefined
      : setInterval(() => {
          if (oom) return;
          void outOfMemory(cgroups, rec.id).then(async (hit) => {
            if (!hit || oom || finished) return;
            oom = true;
            oomBeforeStart = pid === undefined;
            deps.log?.('container out of memory: killing it', { id: rec.id, started: !oomBeforeStart });
            await killCgroups(cgroups);
          });
        }, 50);

  const res = await proc.ended();
  finished = true;
  mark('container exited');
  // The container may have come and gone before the watcher looked: the pid file tells.
  const pidText = (await readUntrusted(pidFile, 32)).trim();
  started = true; // stops the watcher loop
  wake();
  await watch.catch(() => {});
  // Gone already, it cannot be checked: it says only that the container started.
  if (pid === undefined && pidText) {
    pid = Number(pidText);
    // It did start: say so, or the starter would take the monitor's end for a failure.
    hooks.onStarted?.({ pid });
  }
  log.end();

  const runcErr = await readUntrusted(runcLog, 65536, { tail: true });
  const hadPid = pid !== undefined;
  let exitCode = 'err' in res ? 127 : (res.code ?? (res.signal ? signalStatus(res.signal) : 125));
  let error: string | undefined;
  if (oomWatch) clearInterval(oomWatch);
  oom = oom || (await outOfMemory(cgroups, rec.id));
  if ('err' in res) {
    error = `could not start ${argv[0]}: ${res.err.message}`;
  } else if (!hadPid && oomBeforeStart) {
    exitCode = 137;
    error = `the container ran out of memory before its command started (--memory ${mib(rec.limits.memory ?? 0)} is too little)`;
  } else if (!hadPid && aborted) {
    exitCode = signalStatus(aborted);
    error = `the start was interrupted by ${aborted}`;
  } else if (exitCode !== 0 && (!hadPid || /runc run failed/.test(runcErr))) {
    // The container's command never ran: runc (or the launcher before it) failed. runc's own
    // fatal line says why; docker's statuses tell "not found" (127) from "not executable" (126).
    error = runcErr
      ? lastRuncError(runcErr)
      : `the launcher exited with status ${exitCode} before runc started`;
    error = stageFailure(error, run.staged) ?? error;
    exitCode = startFailureStatus(error);
  }
  if (error && !hadPid) output.discard();
  else output.open();
  await removeCgroups(cgroups);
  await runcDelete(deps.runc, rec.id);
  await record(deps, rec.id, (r) => {
    r.status = 'exited';
    r.exitCode = exitCode;
    r.finishedAt = new Date().toISOString();
    r.oomKilled = oom;
    r.cgroups = {};
    delete r.monitorPid;
    delete r.monitorStart;
    delete r.launcherPid;
    delete r.launcherStart;
    if (error) r.error = error;
  });
  if (!hadPid)
    hooks.onStarted?.({
      error: {
        code: 'RUNTIME_START_FAILED',
        message: error ?? `container failed to start (status ${exitCode})`,
        exitCode,
      },
    });
  deps.log?.('container exited', { id: rec.id, exitCode, oom });
  return { exitCode, started: hadPid, oomKilled: oom, ...(error ? { error } : {}) };
}
