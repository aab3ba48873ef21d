/**
 * The thin runc driver: argv builders and the few calls moat makes. runc runs inside moat's user
 * namespace (see src/userns/exec.ts); its state lives under `$XDG_RUNTIME_DIR/moat/runc`.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { nsenterArgv, runCollect, type UsernsTools } from '../userns/exec.js';
import { containerProcess, pidInUse, processAlive } from '../util/proc.js';
import { RuntimeError } from './errors.js';
import { CONSOLE_SOCKET, ttyHelperArgs, type TtyLaunch } from './tty.js';

export interface RuncConfig {
  runc: string;
  root: string;
}

/**
 * The launcher: a few lines of sh run as root of the new user + mount namespace. It waits on fd 3
 * until moat has placed it in the container's cgroups, mounts the overlay root (only possible
 * inside the namespace that owns the mount), then runs `runc run`, whose exit status is the
 * container's, and writes that status to a file before passing it on. The monitor learns it as
 * the launcher's own status; the file is for when the monitor is gone (killed, crashed): the
 * launcher outlives it, and `ps`/`stop` then record the status the container really ended with
 * (143 after SIGTERM, 137 after SIGKILL) instead of an unknown one.
 *
 * Before runc, it stages the bind mounts' host sources (host-paths.ts): each is bind-mounted on
 * its staging point (in this private mount namespace), and what got mounted must be the device
 * and inode checked at create; runc then mounts the staging point. A difference is reported in
 * runc's log (`moat: staged mount N changed`) and nothing runs.
 */
export const LAUNCHER = [
  'read -r _ <&3 || exit 125',
  'exec 3<&-',
  'if [ -n "$1" ]; then mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,userxattr" "$4" || exit 125; fi',
  'r="$5"; s="$6"; n="$7"; l="$8"; shift 8; i=0',
  'while [ "$i" -lt "$n" ]; do',
  '  if ! mount --rbind "$1" "$2" 2>/dev/null || [ "$(stat -c %d:%i "$2" 2>/dev/null)" != "$3" ]; then',
  `    printf '{"level":"error","msg":"moat: staged mount %s changed"}\\n' "$i" >> "$l"; exit 125`,
  '  fi',
  '  shift 3; i=$((i + 1))',
  'done',
  '"$r" "$@"',
  'c=$?',
  'echo "$c" > "$s"',
  'exit "$c"',
].join('\n');

export function launcherArgv(o: {
  lower: string;
  upper: string;
  work: string;
  rootfs: string;
  runc: RuncConfig;
  bundle: string;
  id: string;
  pidFile: string;
  logFile: string;
  /** Where the launcher writes runc's exit status (see LAUNCHER). */
  statusFile: string;
  /** Host sources to bind-mount on their staging points first, and check (see LAUNCHER). */
  staged?: readonly { source: string; stage: string; id: string }[];
  /** A terminal: runc detaches and gives its console to moat-tty (tty.ts), which supervises. */
  tty?: TtyLaunch;
}): string[] {
  for (const p of [o.lower, o.upper, o.work]) {
    if (/[,:\n]/.test(p)) {
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `path ${p} contains a character overlayfs options cannot carry (, or :)`,
        {
          hint: 'set XDG_DATA_HOME to a path without commas or colons',
        },
      );
    }
  }
  const runc = [
    '--root',
    o.runc.root,
    '--log',
    o.logFile,
    '--log-format',
    'json',
    'run',
    ...(o.tty ? ['--detach', '--console-socket', CONSOLE_SOCKET] : []),
    '--bundle',
    o.bundle,
    '--pid-file',
    o.pidFile,
    o.id,
  ];
  return [
    'sh',
    '-c',
    LAUNCHER,
    'moat-launch',
    o.lower,
    o.upper,
    o.work,
    o.rootfs,
    o.tty ? o.tty.helper : o.runc.runc,
    o.statusFile,
    String(o.staged?.length ?? 0),
    o.logFile,
    ...(o.staged ?? []).flatMap((m) => [m.source, m.stage, m.id]),
    ...(o.tty ? [...ttyHelperArgs(o.tty, o.pidFile), o.runc.runc] : []),
    ...runc,
  ];
}

/**
 * Wrap a command so it waits on fd 3 (for the cgroup join) before it runs. With `errorFd`, fd 4
 * (gated-spawn.ts's error pipe) then takes fd 3's place, for runc exec --preserve-fds 1.
 */
export function gatedArgv(cmd: string[], errorFd = false): string[] {
  const moveErrors = errorFd ? 'exec 3>&4 4>&-' : 'exec 3<&-';
  return ['sh', '-c', `read -r _ <&3 || exit 125; ${moveErrors}; exec "$@"`, 'moat-gate', ...cmd];
}

export interface RuncState {
  id: string;
  pid: number;
  status: string;
}

/** runc's state of a container, read as its owner (no namespace needed), or undefined. */
export async function runcState(rc: RuncConfig, id: string): Promise<RuncState | undefined> {
  try {
    const raw = JSON.parse(await fsp.readFile(path.join(rc.root, id, 'state.json'), 'utf8')) as {
      id: string;
      init_process_pid: number;
      /** The init's start time (/proc/PID/stat field 22), which runc records beside its pid. */
      init_process_start?: number;
    };
    const pid = raw.init_process_pid;
    const start = raw.init_process_start;
    const status = pidInUse(pid, typeof start === 'number' ? String(start) : undefined)
      ? 'running'
      : 'stopped';
    return { id: raw.id, pid, status };
  } catch {
    return undefined;
  }
}

/** Send a signal through runc, from inside the container's user namespace. */
export async function runcKill(
  t: UsernsTools,
  rc: RuncConfig,
  pid: number,
  id: string,
  signal: string,
): Promise<void> {
  // The pid may come from runc's state, which container root can write: a live process that is
  // not a container's (root's own user namespace, a host user) is never entered nor signalled.
  if (processAlive(pid) && !containerProcess(pid, t.maps.uidMap))
    throw new RuntimeError('RUNTIME_RUNC_FAILED', `process ${pid} is not a process of container ${id}`);
  const r = await runCollect(nsenterArgv(t, pid, [rc.runc, '--root', rc.root, 'kill', id, signal]));
  if (r.code !== 0 && !/not running|does not exist|process already finished/.test(r.stderr)) {
    throw new RuntimeError('RUNTIME_RUNC_FAILED', `runc kill ${signal} failed: ${lastRuncError(r.stderr)}`);
  }
}

/** Remove runc's state of a stopped container (best effort; runc run removes it itself). */
export async function runcDelete(rc: RuncConfig, id: string): Promise<void> {
  await fsp.rm(path.join(rc.root, id), { recursive: true, force: true });
}

/** The message of runc's last error line (plain or JSON log format). */
export function lastRuncError(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (l.startsWith('{')) {
      try {
        const j = JSON.parse(l) as { level?: string; msg?: string };
        if (j.level === 'error' || j.level === 'fatal') return j.msg ?? l;
      } catch {
        /* not JSON */
      }
    } else if (/level=(error|fatal)/.test(l)) {
      const m = /msg="((?:[^"\\]|\\.)*)"/.exec(l);
      return m ? m[1].replace(/\\"/g, '"') : l;
    }
  }
  return lines.at(-1) ?? 'unknown error';
}

/** Docker's exit statuses for a container that could not start. */
export function startFailureStatus(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg) && /exec/.test(msg)) return 127;
  if (/permission denied/.test(msg) && /exec/.test(msg)) return 126;
  return 125;
}
