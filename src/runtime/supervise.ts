/**
 * Supervision of one container run: set up cgroups, start the launcher (userns → overlay → runc
 * run), copy the container's output into its JSON-lines log (and to the terminal when attached),
 * record the start and the exit status. The foreground `moat run` does this in-process; a
 * detached container gets a monitor process (`moat __monitor`) that does the same after the CLI
 * has returned.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, promises as fsp, watch as fsWatch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { unshareArgv, type UsernsTools } from '../userns/exec.js';
import { createCgroups, joinCgroups, outOfMemory, removeCgroups } from './cgroups.js';
import type { CgroupFacts } from './host.js';
import { formatEntry, LineSplitter } from './logs.js';
import { StartGate } from './start-gate.js';
import {
  lastRuncError,
  launcherArgv,
  runcDelete,
  runcKill,
  startFailureStatus,
  type RuncConfig,
} from './runc.js';
import { containerDirs, type ContainerRecord, type ContainerStore } from './state.js';
import type { MoatPaths } from '../util/paths.js';
import { signalNumber } from '../userns/exec.js';
import { processStartTime } from '../util/proc.js';
import { mark } from '../util/timing.js';

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

export interface SuperviseHooks {
  /** Called once the container's init is running (or the start failed: then with an error). */
  onStarted?: (r: { pid?: number; error?: { code: string; message: string; exitCode: number } }) => void;
  /** Forward these signals to the container while attached. */
  forwardSignals?: boolean;
}

export interface RunOutcome {
  exitCode: number;
  started: boolean;
  error?: string;
}

/** Run the container to its end. The record must be 'created' (the caller holds no lock). */
export async function supervise(
  deps: SuperviseDeps,
  rec: ContainerRecord,
  attach?: Attach,
  hooks: SuperviseHooks = {},
): Promise<RunOutcome> {
  const d = containerDirs(deps.paths, rec.id);
  const pidFile = path.join(d.dir, 'init.pid');
  const runcLog = path.join(d.dir, 'runc.log');
  await fsp.rm(pidFile, { force: true });
  await fsp.rm(runcLog, { force: true });
  await runcDelete(deps.runc, rec.id);

  const cgroups = await createCgroups(rec.id, rec.limits, deps.cgroup, deps.cgroupOwner);
  const argv = unshareArgv(
    deps.tools,
    launcherArgv({
      lower: rec.lowerdir,
      upper: d.upper,
      work: d.work,
      rootfs: d.rootfs,
      runc: deps.runc,
      bundle: d.bundle,
      id: rec.id,
      pidFile,
      logFile: runcLog,
    }),
    { mount: true },
  );
  mark('launcher spawned');
  const child = spawn(argv[0], argv.slice(1), {
    stdio: [attach?.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const logOut = createWriteStream(d.log, { flags: 'a', mode: 0o600 });
  const write = (e: Parameters<typeof formatEntry>[0]) => logOut.write(formatEntry(e));
  const splitOut = new LineSplitter('stdout', write);
  const splitErr = new LineSplitter('stderr', write);
  // Output reaches an attached client once the command runs: before, it is runc's own, and a
  // failed start is reported as an error of its own, once (start-gate.ts).
  const output = new StartGate();
  child.stdout!.on('data', (b: Buffer) => {
    splitOut.push(b);
    if (attach) output.write(attach.stdout, b);
  });
  child.stderr!.on('data', (b: Buffer) => {
    splitErr.push(b);
    if (attach) output.write(attach.stderr, b);
  });
  if (attach?.stdin && child.stdin) {
    attach.stdin.pipe(child.stdin);
    child.stdin.on('error', () => {});
  }
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );

  // Join the cgroups before the launcher may go on: everything runc forks inherits them.
  const gate = child.stdio[3] as Writable;
  gate.on('error', () => {});
  try {
    if (child.pid) await joinCgroups(cgroups, child.pid);
    gate.end('go\n');
  } catch (e) {
    child.kill('SIGKILL');
    await closed;
    await removeCgroups(cgroups);
    throw e;
  }

  const forwarded: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const onSig = (s: NodeJS.Signals) => child.kill(s);
  const onInt = () => {
    /* the terminal sent SIGINT to the whole process group: runc forwards it to the container */
  };
  if (hooks.forwardSignals) {
    for (const s of forwarded) process.on(s, onSig);
    process.on('SIGINT', onInt);
  }

  // Wait for the pid file runc writes once the container exists: inotify on the container's
  // directory wakes us when it appears (a slow poll covers filesystems without inotify).
  let started = false;
  let pid: number | undefined;
  // Ends the current wait early: called by inotify, and once the launcher has exited.
  let wake: () => void = () => {};
  const watch = (async () => {
    let watcher: FSWatcher | undefined;
    try {
      watcher = fsWatch(d.dir, (_ev, name) => {
        if (name === 'init.pid') wake();
      });
    } catch {
      watcher = undefined;
    }
    try {
      while (!started) {
        const txt = await fsp.readFile(pidFile, 'utf8').catch(() => '');
        if (txt.trim()) {
          pid = Number(txt.trim());
          started = true;
          output.open();
          await deps.store.update(rec.id, async (r) => {
            r.status = 'running';
            r.pid = pid;
            r.startedAt = new Date().toISOString();
            r.monitorPid = process.pid;
            r.monitorStart = processStartTime(process.pid);
            r.cgroups = cgroups;
            delete r.exitCode;
            delete r.finishedAt;
            delete r.oomKilled;
            delete r.error;
            await deps.store.save(r);
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

  // Out of memory: the kernel has paused the container (v1 oom_kill_disable); record and kill it.
  let oom = false;
  const oomWatch =
    rec.limits.memory === undefined
      ? undefined
      : setInterval(() => {
          if (oom || pid === undefined) return;
          void outOfMemory(cgroups, rec.id).then(async (hit) => {
            if (!hit || oom) return;
            oom = true;
            deps.log?.('container out of memory: killing it', { id: rec.id });
            await runcKill(deps.tools, deps.runc, pid!, rec.id, 'KILL').catch(() => child.kill('SIGKILL'));
          });
        }, 50);

  const res = await Promise.race([closed, spawnError.then((e) => ({ code: 127, signal: null, err: e }))]);
  mark('container exited');
  // The container may have come and gone before the watcher looked: the pid file tells.
  const pidText = (await fsp.readFile(pidFile, 'utf8').catch(() => '')).trim();
  started = true; // stops the watcher loop
  wake();
  await watch.catch(() => {});
  if (pid === undefined && pidText) pid = Number(pidText);
  if (hooks.forwardSignals) {
    for (const s of forwarded) process.off(s, onSig);
    process.off('SIGINT', onInt);
  }
  splitOut.end();
  splitErr.end();
  await new Promise<void>((r) => logOut.end(r));

  const runcErr = await fsp.readFile(runcLog, 'utf8').catch(() => '');
  const hadPid = pid !== undefined;
  let exitCode = res.code ?? (res.signal ? 128 + (signalNumber(res.signal) ?? 0) : 125);
  let error: string | undefined;
  if ('err' in res) {
    error = `could not start ${argv[0]}: ${(res as { err: Error }).err.message}`;
  } else if (exitCode !== 0 && (!hadPid || /runc run failed/.test(runcErr))) {
    // The container's command never ran: runc (or the launcher before it) failed. runc's own
    // fatal line says why; docker's statuses tell "not found" (127) from "not executable" (126).
    error = runcErr
      ? lastRuncError(runcErr)
      : `the launcher exited with status ${exitCode} before runc started`;
    exitCode = startFailureStatus(error);
  }
  if (error && !hadPid) output.discard();
  else output.open();
  if (oomWatch) clearInterval(oomWatch);
  oom = oom || (await outOfMemory(cgroups, rec.id));
  await removeCgroups(cgroups);
  await runcDelete(deps.runc, rec.id);
  await deps.store.update(rec.id, async (r) => {
    r.status = 'exited';
    r.exitCode = exitCode;
    r.finishedAt = new Date().toISOString();
    r.oomKilled = oom;
    r.cgroups = {};
    delete r.monitorPid;
    delete r.monitorStart;
    if (error) r.error = error;
    await deps.store.save(r);
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
  return { exitCode, started: hadPid, error };
}
