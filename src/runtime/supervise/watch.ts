/**
 * Supervision, step two: watch the started launcher. Learn the container's init from the pid file
 * runc writes (then open the output gate and record the container running), pass signals on (or,
 * before it runs, end the start), and end a container that ran out of memory.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readUntrusted } from '../../util/fsutil.js';
import { descendantOf } from '../../util/proc.js';
import { mark } from '../../util/timing.js';
import { killCgroups, outOfMemory } from '../cgroups.js';
import { killTree } from '../kill.js';
import { runcKill } from '../runc.js';
import type { ContainerRecord } from '../state.js';
import type { SuperviseDeps, SuperviseHooks } from '../supervise.js';
import { record } from './record.js';
import type { Launch } from './start.js';

/** Signals that end a start that has not finished. */
const ABORTING = new Set<string>(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGKILL']);

/** What the watch learnt; the finish step reads it (and sets `finished`). */
export interface WatchState {
  /** The container's init, once runc wrote it. */
  pid?: number;
  /** The launcher has ended: signals and the memory watch do nothing more. */
  finished: boolean;
  /** Why a start was cut short: a signal, or the memory limit it could not start within. */
  aborted?: NodeJS.Signals;
  oomBeforeStart: boolean;
  oom: boolean;
}

export interface Watch {
  state: WatchState;
  /** Ends the pid-file watch (the launcher has ended) and resolves once it has. */
  stop(): Promise<void>;
  /** Ends the memory watch. */
  stopOom(): void;
}

export function watchLauncher(
  deps: SuperviseDeps,
  rec: ContainerRecord,
  launch: Launch,
  hooks: SuperviseHooks,
): Watch {
  const { cgroups, proc } = launch;
  const pidFile = launch.dirs.initPid;
  const state: WatchState = { finished: false, oomBeforeStart: false, oom: false };
  let started = false;
  const endStart = async () => {
    await killCgroups(cgroups);
    killTree(proc.child.pid);
  };
  hooks.onControl?.((sig) => {
    if (state.finished) return;
    if (state.pid !== undefined) {
      void runcKill(deps.tools, deps.runc, state.pid, rec.id, sig.replace(/^SIG/, '')).catch((e: unknown) =>
        deps.log?.('could not signal the container', { id: rec.id, sig, error: String(e) }),
      );
    } else if (ABORTING.has(sig)) {
      state.aborted ??= sig;
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
      watcher = fsWatch(launch.dirs.run, (_ev, name) => {
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
        if (txt.trim() && descendantOf(Number(txt.trim()), proc.child.pid)) {
          const pid = Number(txt.trim());
          state.pid = pid;
          started = true;
          mark('container started');
          proc.output.open();
          await record(deps, rec.id, (r) => {
            r.status = 'running';
            r.pid = pid;
            r.startedAt = new Date().toISOString();
            delete r.exitCode;
            delete r.finishedAt;
            delete r.oomKilled;
            delete r.paused;
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
  const oomWatch =
    rec.limits.memory === undefined
      ? undefined
      : setInterval(() => {
          if (state.oom) return;
          void outOfMemory(cgroups, rec.id).then(async (hit) => {
            if (!hit || state.oom || state.finished) return;
            state.oom = true;
            state.oomBeforeStart = state.pid === undefined;
            deps.log?.('container out of memory: killing it', { id: rec.id, started: !state.oomBeforeStart });
            await killCgroups(cgroups);
          });
        }, 50);

  return {
    state,
    stop: async () => {
      started = true; // stops the watcher loop
      wake();
      await watch.catch(() => {});
    },
    stopOom: () => {
      if (oomWatch) clearInterval(oomWatch);
    },
  };
}
