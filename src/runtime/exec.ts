/**
 * `moat exec`: a command in a running container, through `runc exec` in the container's user
 * namespace and cgroups (the command starts inside the cgroups that carry the limits, or not at
 * all: see enterLimits). The user is resolved as `run` resolves it (a name from the container's
 * /etc/passwd, its primary group and its supplementary groups from /etc/group). runc's own
 * failure to start the command (not found, not executable, no such working directory) becomes a
 * moat error with docker's status (127/126), printed once: runc's raw line is held back (see
 * start-gate.ts) until the command is known to run. runc is started as `run` starts its launcher,
 * held at its gate until it is in the cgroups (gated-spawn.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp, watch as fsWatch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { nsenterArgv, signalNumber, type UsernsTools } from '../userns/exec.js';
import { mappedSize } from '../userns/idmap.js';
import { readUntrusted } from '../util/fsutil.js';
import type { MoatPaths } from '../util/paths.js';
import { joinCgroups } from './cgroups.js';
import { readContainerFile } from './container-files.js';
import { RuntimeError } from './errors.js';
import { gatedArgv, lastRuncError, type RuncConfig } from './runc.js';
import { execPrefix, landlockOfSpec, resolveUser } from './spec/index.js';
import { spawnGated } from './gated-spawn.js';
import { startError } from './start-errors.js';
import { containerDirs, type ContainerRecord } from './state.js';
import { CONSOLE_SOCKET, resizeTerminal, ttyHelper, ttyHelperArgs, type ConsoleClient } from './tty.js';
import { killTree } from './kill.js';

export interface ExecDeps {
  paths: MoatPaths;
  tools: UsernsTools;
  runc: RuncConfig;
}

export type ExecUser = ReturnType<typeof resolveUser>;

export interface ExecOptions {
  env: string[];
  user?: string;
  /**
   * `user` as already resolved (by the facts the policy decided on): used as is, so the command
   * runs as the user the policy saw even if the container rewrote its /etc/passwd since.
   */
  resolvedUser?: ExecUser;
  workdir?: string;
  stdio: { stdin?: Readable; stdout: Writable; stderr: Writable };
  /** A terminal for the command (exec -t): moat-tty (tty.ts) holds its console. */
  tty?: boolean;
  /** The client's terminal: window size, resizes, detaching (exec -it). */
  console?: ConsoleClient;
  /** Called once the command runs, with its process ID (as runc wrote it) when known. */
  onStarted?: (pid?: number) => void;
  /** Ends the command (and runc) when aborted: a health check's timeout. */
  abort?: AbortSignal;
}

/**
 * `-u SPEC` resolved as `run` resolves it, against the container's own /etc/passwd and
 * /etc/group (its upper layer first, then the image's; read without following its symlinks).
 */
export async function resolveExecUser(
  paths: MoatPaths,
  rec: Pick<ContainerRecord, 'id' | 'lowerdir'>,
  spec: string,
): Promise<ExecUser> {
  const layers = { upper: containerDirs(paths, rec.id).upper, lower: rec.lowerdir };
  const [passwd, group] = await Promise.all([
    readContainerFile(layers, 'etc/passwd'),
    readContainerFile(layers, 'etc/group'),
  ]);
  return resolveUser(spec, passwd, group);
}

/** runc exec's `--user` and `--additional-gids` for `-u SPEC`, resolved as `run` resolves it. */
export async function execUserArgs(
  deps: Pick<ExecDeps, 'paths' | 'tools'>,
  rec: ContainerRecord,
  spec: string,
): Promise<string[]> {
  return userArgs(deps.tools, await resolveExecUser(deps.paths, rec, spec));
}

function userArgs(tools: UsernsTools, u: ExecUser): string[] {
  const uids = mappedSize(tools.maps.uidMap);
  const gids = mappedSize(tools.maps.gidMap);
  if (u.uid >= uids || u.gid >= gids) {
    const which = u.uid >= uids ? `user ${u.uid}` : `group ${u.gid}`;
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `${which} is not mapped into the container (${tools.maps.mode} mapping covers ${Math.min(uids, gids)} IDs)`,
      { hint: 'give a user and group below the size of your /etc/subuid and /etc/subgid ranges' },
    );
  }
  return [
    '--user',
    `${u.uid}:${u.gid}`,
    ...u.additionalGids.filter((g) => g < gids).flatMap((g) => ['--additional-gids', String(g)]),
  ];
}

/** Resolves once `file` exists (inotify on its directory, a slow poll besides), or on `stop`. */
function whenExists(file: string, stop: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = (v: boolean) => {
      watcher?.close();
      clearInterval(timer);
      resolve(v);
    };
    const check = () => {
      if (existsSync(file)) done(true);
    };
    try {
      watcher = fsWatch(path.dirname(file), (_e, name) => {
        if (name === path.basename(file)) check();
      });
      watcher.on('error', () => {});
    } catch {
      watcher = undefined;
    }
    const timer = setInterval(check, watcher ? 100 : 10);
    check();
    void stop.then(() => done(existsSync(file)));
  });
}

/**
 * Put the launcher, still held at its gate, into the cgroups that carry the container's limits,
 * so that everything runc forks — the command included — starts inside them. runc cannot be
 * left to do it: rootless runc tries to move the command into the container's cgroups but
 * ignores a failure, and the command would then run wherever runc runs, outside the limits.
 * If a join fails the launcher is killed at the gate, before runc (let alone the command)
 * starts, as `run` refuses to start a container it could not put into its cgroups.
 */
async function enterLimits(
  rec: ContainerRecord,
  pid: number,
  closed: Promise<unknown>,
  kill: () => void,
): Promise<void> {
  try {
    await joinCgroups(rec.cgroups, pid, rec.id);
  } catch (e) {
    kill();
    await closed;
    throw new RuntimeError(
      'RUNTIME_CGROUP_JOIN_FAILED',
      `could not put the command into the cgroups of container ${rec.name}, so it was not run: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** The container's Landlock as its stored spec says (not enabled: a spec made without it). */
async function containerLandlock(bundle: string) {
  try {
    const spec = JSON.parse(await readUntrusted(path.join(bundle, 'config.json'), 4 << 20)) as {
      annotations?: Record<string, string>;
    };
    return landlockOfSpec(spec.annotations);
  } catch {
    return landlockOfSpec(undefined);
  }
}

/** Run `cmd` in the running container `rec`; returns its exit status. */
export async function execInContainer(
  deps: ExecDeps,
  rec: ContainerRecord,
  cmd: string[],
  o: ExecOptions,
): Promise<number> {
  if (rec.status !== 'running' || !rec.pid)
    throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} is not running`, {
      hint: `start it with moat start ${rec.name}`,
    });
  // runc exec would join the frozen cgroup and wait there (Docker refuses it too)
  if (rec.paused)
    throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} is paused`, {
      hint: `unpause it first: moat unpause ${rec.name}`,
    });
  const d = containerDirs(deps.paths, rec.id);
  const tag = `exec-${randomBytes(6).toString('hex')}`;
  // Written by runc as container root (for root): in the directory it may write (container-dir.ts).
  const pidFile = path.join(d.run, `${tag}.pid`);
  const logFile = path.join(d.run, `${tag}.log`);
  const ctl = path.join(d.run, `${tag}.ctl`);
  const helper = o.tty ? ttyHelper() : undefined;
  const args = [deps.runc.runc, '--root', deps.runc.root, '--log', logFile, '--log-format', 'json', 'exec'];
  // With a terminal runc must detach and hand the console over; moat-tty waits for the command.
  if (helper) args.push('--detach', '--tty', '--console-socket', CONSOLE_SOCKET);
  args.push('--pid-file', pidFile);
  for (const e of o.env) {
    if (!/^[^=]+=/.test(e))
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid environment entry "${e}"`, {
        hint: 'use -e KEY=VALUE',
      });
    args.push('--env', e);
  }
  if (o.resolvedUser) args.push(...userArgs(deps.tools, o.resolvedUser));
  else if (o.user) args.push(...(await execUserArgs(deps, rec, o.user)));
  if (o.workdir) args.push('--cwd', o.workdir);
  // Under the container's Landlock ruleset: through moat-init, which says on fd 3 why the
  // command cannot run (runc only looks for moat-init itself).
  const landlock = execPrefix(await containerLandlock(d.bundle));
  if (landlock.length) args.push('--preserve-fds', '1');
  args.push(rec.id, ...landlock, ...cmd);

  const launched = helper
    ? [helper, ...ttyHelperArgs({ helper, ctl, size: o.console?.size }, pidFile), ...args]
    : args;
  const argv = nsenterArgv(deps.tools, rec.pid, gatedArgv(launched, landlock.length > 0));
  const {
    child,
    closed,
    ended,
    release,
    output: gate,
    errors,
  } = spawnGated(argv, { ...o.stdio, errorPipe: landlock.length > 0 });
  const stopResizes = helper ? o.console?.onResize?.((s) => resizeTerminal(ctl, s)) : undefined;
  const onAbort = () => killTree(child.pid);

  try {
    if (child.pid) {
      await enterLimits(rec, child.pid, closed, () => {
        o.stdio.stdin?.unpipe();
        child.kill('SIGKILL');
      });
    }
    release();
    // runc writes the pid file once the command runs: from then on its output is the command's.
    void whenExists(pidFile, closed).then(async (started) => {
      if (started) {
        gate.open();
        if (o.onStarted) {
          const pid = Number.parseInt(await readUntrusted(pidFile, 32), 10);
          o.onStarted(pid > 0 ? pid : undefined);
        }
      }
      // The command is inside the limits and stays there; runc itself goes back to the top
      // cgroups (its threads would count against --pids-limit while the command runs).
      // Only while it lives: a pid that has exited may already be someone else's.
      if (started && child.pid && child.exitCode === null && child.signalCode === null)
        await joinCgroups(rec.cgroups, child.pid).catch(() => {});
    });
    o.abort?.addEventListener('abort', onAbort, { once: true });
    if (o.abort?.aborted) onAbort();
    // Detaching (exec -it's detach keys) leaves the command running, with its output dropped.
    const detached = o.console?.detached?.then(() => 'detached' as const);
    const res = await (detached ? Promise.race([ended(), detached]) : ended());
    o.stdio.stdin?.unpipe();
    if (res === 'detached') {
      // Every pipe, moat-init's error pipe (fd 4) too: an open one would keep this process alive.
      for (const s of child.stdio) s?.destroy();
      child.unref();
      return 0;
    }
    if ('err' in res) {
      gate.open();
      throw new RuntimeError('RUNTIME_RUNC_FAILED', `could not start ${argv[0]}: ${res.err.message}`);
    }
    const status = res.code ?? (res.signal ? 128 + (signalNumber(res.signal) ?? 0) : 126);
    // moat-init could not run the command: runc's reason, in runc's words (not the command's own).
    const initReason = status === 126 || status === 127 ? errors().trim() : '';
    if (/^exec: "/.test(initReason)) throw startError(initReason, { kind: 'exec', name: rec.name });
    if (existsSync(pidFile) || status === 0) {
      gate.open();
      return status;
    }
    // The command never ran: runc says why in its log (and said it on stderr, held back).
    const log = await readUntrusted(logFile, 65536, { tail: true });
    const held = gate.discard();
    const reason = log.trim() ? lastRuncError(log) : held.trim() ? lastRuncError(held) : '';
    if (!reason) {
      o.stdio.stderr.write(held);
      return status;
    }
    throw startError(reason, { kind: 'exec', name: rec.name });
  } finally {
    o.abort?.removeEventListener('abort', onAbort);
    stopResizes?.();
    await Promise.all([pidFile, logFile, ctl].map((f) => fsp.rm(f, { force: true })));
  }
}
