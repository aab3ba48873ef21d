/**
 * Supervision, step one: start the launcher (userns → overlay → runc run) held at its gate, put it
 * into the container's cgroups, record it, and let it go. Undone (launcher killed, cgroups
 * removed) if any of that fails, before runc starts.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { nsenterArgv, unshareArgv } from '../../userns/exec.js';
import type { MoatPaths } from '../../util/paths.js';
import { processStartTime } from '../../util/proc.js';
import { mark } from '../../util/timing.js';
import { createCgroups, joinCgroups, removeCgroups, type CgroupPaths } from '../cgroups.js';
import { freshRunDir } from '../container-dir.js';
import { spawnGated, type GatedProcess } from '../gated-spawn.js';
import { prepareHostPaths, type StagedMount } from '../host-paths.js';
import { logConfigOf, LogWriter } from '../logs/index.js';
import { launcherArgv, runcDelete } from '../runc.js';
import { containerDirs, type ContainerDirs, type ContainerRecord } from '../state.js';
import { ttyHelper } from '../tty.js';
import type { Attach, SuperviseDeps } from '../supervise.js';
import { record } from './record.js';

/** A launcher that has been let go: what the watch and finish steps work with. */
export interface Launch {
  dirs: ContainerDirs;
  /** The launcher's command line (its first word names it in a failure to spawn). */
  argv: string[];
  proc: GatedProcess;
  cgroups: CgroupPaths;
  log: LogWriter;
  /** The host paths runc was given, staged (host-paths.ts), to explain a failure to mount one. */
  staged: StagedMount[];
  /** A learning run's recorder (seccomp-learn.ts). */
  recorder?: Recorder;
}

export interface Recorder {
  child: ChildProcess;
  done: Promise<number>;
  record: string;
}

/** Could the container be on a user-defined network, or share one's? (Loads nothing when not.) */
function mayHaveNetworks(paths: MoatPaths, rec: ContainerRecord): boolean {
  const n = rec.options.network;
  if (n !== undefined && n !== 'none' && n !== 'slirp4netns' && n !== 'pasta') return true;
  try {
    return readdirSync(path.join(paths.data, 'networks')).length > 0;
  } catch {
    return false;
  }
}

export async function startLauncher(
  deps: SuperviseDeps,
  rec: ContainerRecord,
  attach?: Attach,
): Promise<Launch> {
  const d = containerDirs(deps.paths, rec.id);
  // runc's pid file and log, and the launcher's exit status: written as container root, into a
  // directory of its own, emptied first (container-dir.ts).
  await freshRunDir(d.dir, deps.cgroupOwner);
  await runcDelete(deps.runc, rec.id);
  // User-defined networks and container:NAME: the namespaces the launcher makes its own in (and
  // the spec's last changes, so before the host paths stage it).
  const { usernsPid } = mayHaveNetworks(deps.paths, rec)
    ? await (await import('../network/start.js')).networkAtStart(deps, rec)
    : { usernsPid: undefined };
  // The host paths it mounts are still the ones the policy saw, and runc gets them staged.
  const run = prepareHostPaths(deps.paths, rec, deps.cgroupOwner);
  const tty = rec.options.tty
    ? { helper: ttyHelper(), ctl: d.ttyCtl, size: attach?.console?.size }
    : undefined;

  // A learning run: its recorder listens before runc loads the filter.
  let recorder: Recorder | undefined;
  if (rec.options.seccompLearn !== undefined) {
    const { learnPaths, startRecorder } = await import('../seccomp-learn.js');
    const p = learnPaths(deps.runc.root, d.dir, rec.id);
    recorder = { ...(await startRecorder(p.socket, p.record)), record: p.record };
  }
  const cgroups = await createCgroups(rec.id, rec.limits, deps.cgroup, deps.cgroupOwner).catch(
    (e: unknown) => {
      recorder?.child.kill('SIGKILL');
      throw e;
    },
  );
  const launcher = launcherArgv({
    lower: rec.lowerdir,
    upper: d.upper,
    work: d.work,
    rootfs: d.rootfs,
    runc: deps.runc,
    bundle: run.bundle,
    id: rec.id,
    pidFile: d.initPid,
    logFile: d.runcLog,
    statusFile: d.exitStatus,
    staged: run.staged,
    ...(tty ? { tty } : {}),
  });
  const argv = usernsPid
    ? nsenterArgv(deps.tools, usernsPid, [
        deps.tools.unshare,
        '--mount',
        '--propagation',
        'private',
        '--',
        ...launcher,
      ])
    : unshareArgv(deps.tools, launcher, { mount: true });
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
  const { child } = proc;

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
        // The user namespace it runs in when not its own (network connect needs the infra one).
        r.sharedUserns = usernsPid ? { pid: usernsPid, start: processStartTime(usernsPid) } : undefined;
      },
      { durable: false },
    );
    if (!kept) throw new Error(`container ${rec.id.slice(0, 12)} was removed while it started`);
    proc.release();
    mark('launcher recorded and let go');
  } catch (e) {
    child.kill('SIGKILL');
    recorder?.child.kill('SIGKILL');
    await proc.closed;
    log.end();
    await removeCgroups(cgroups);
    throw e;
  }
  return { dirs: d, argv, proc, cgroups, log, staged: run.staged, ...(recorder ? { recorder } : {}) };
}
