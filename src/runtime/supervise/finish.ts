/**
 * Supervision, step three: once the launcher has ended, say what happened — the container's exit
 * status, or why its command never ran (runc's own error, the memory limit, an interrupted start)
 * with docker's statuses — then remove its cgroups and runc state and record it exited.
 */
import { constants as osConstants } from 'node:os';
import { readUntrusted } from '../../util/fsutil.js';
import { mark } from '../../util/timing.js';
import { outOfMemory, removeCgroups } from '../cgroups.js';
import { stageFailure } from '../host-paths.js';
import { lastRuncError, runcDelete, startFailureStatus } from '../runc.js';
import { containerDirs, type ContainerRecord } from '../state.js';
import { apiSocketOf, stopNetwork } from '../network/stop.js';
import type { RunOutcome, SuperviseDeps, SuperviseHooks } from '../supervise.js';
import { record } from './record.js';
import type { Launch } from './start.js';
import type { Watch } from './watch.js';

const mib = (n: number): string => `${Number((n / 1048576).toFixed(1))}MiB`;

const signalStatus = (sig: string): number => 128 + (osConstants.signals[sig as NodeJS.Signals] ?? 0);

export async function finishRun(
  deps: SuperviseDeps,
  rec: ContainerRecord,
  launch: Launch,
  watch: Watch,
  hooks: SuperviseHooks,
): Promise<RunOutcome> {
  const { proc, cgroups } = launch;
  const { state } = watch;
  const res = await proc.ended();
  state.finished = true;
  mark('container exited');
  // The container may have come and gone before the watcher looked: the pid file tells.
  const pidText = (await readUntrusted(launch.dirs.initPid, 32)).trim();
  await watch.stop();
  // Gone already, it cannot be checked: it says only that the container started.
  if (state.pid === undefined && pidText) {
    state.pid = Number(pidText);
    // It did start: say so, or the starter would take the monitor's end for a failure.
    hooks.onStarted?.({ pid: state.pid });
  }
  launch.log.end();

  const runcErr = await readUntrusted(launch.dirs.runcLog, 65536, { tail: true });
  const hadPid = state.pid !== undefined;
  let exitCode = 'err' in res ? 127 : (res.code ?? (res.signal ? signalStatus(res.signal) : 125));
  let error: string | undefined;
  watch.stopOom();
  const oom = state.oom || (await outOfMemory(cgroups, rec.id));
  if ('err' in res) {
    error = `could not start ${launch.argv[0]}: ${res.err.message}`;
  } else if (!hadPid && (state.oomBeforeStart || (oom && exitCode !== 0))) {
    // The watcher saw it, or runc gave up first (its init killed at the limit, "read init-p:
    // connection reset by peer") before the watcher's next look: the cgroup still says why.
    exitCode = 137;
    error = `the container ran out of memory before its command started (--memory ${mib(rec.limits.memory ?? 0)} is too little)`;
  } else if (!hadPid && state.aborted) {
    exitCode = signalStatus(state.aborted);
    error = `the start was interrupted by ${state.aborted}`;
  } else if (exitCode !== 0 && (!hadPid || /runc run failed/.test(runcErr))) {
    // The container's command never ran: runc (or the launcher before it) failed. runc's own
    // fatal line says why; docker's statuses tell "not found" (127) from "not executable" (126).
    error = runcErr
      ? lastRuncError(runcErr)
      : `the launcher exited with status ${exitCode} before runc started`;
    error = stageFailure(error, launch.staged) ?? error;
    exitCode = startFailureStatus(error);
  }
  if (error && !hadPid) proc.output.discard();
  else proc.output.open();
  await stopNetwork(containerDirs(deps.paths, rec.id).networkState, apiSocketOf(deps.runc.root, rec.id));
  // A learning run: what its recorder heard becomes the learned profile (seccomp-learn.ts).
  if (launch.recorder && rec.options.seccompLearn !== undefined) {
    const { finishLearning } = await import('../seccomp-learn.js');
    await finishLearning(launch.recorder, launch.recorder.record, rec.options.seccompLearn, {
      allowNamespaces: rec.options.seccompAllowNamespaces,
    }).catch((e: unknown) => {
      // No profile is written; the CLI says so (the container's own status stands).
      deps.log?.(`seccomp learning: ${(e as Error).message}`, { id: rec.id });
    });
  }
  await removeCgroups(cgroups);
  await runcDelete(deps.runc, rec.id);
  await record(deps, rec.id, (r) => {
    r.status = 'exited';
    r.exitCode = exitCode;
    r.finishedAt = new Date().toISOString();
    r.oomKilled = oom;
    r.cgroups = {};
    delete r.paused;
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
