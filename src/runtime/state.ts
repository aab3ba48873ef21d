/**
 * Container records on disk: `$XDG_DATA_HOME/moat/containers/<id>/container.json`, rewritten
 * atomically (temp + rename) so a crash never leaves half a record. Mutations of one container
 * are serialised by a per-container lock in the runtime directory.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors.js';
import { byCodeUnits } from '../util/format.js';
import { readJson, tempNameFor, writeJsonAtomic } from '../util/fsutil.js';
import { withLock } from '../util/lock.js';
import type { MoatPaths } from '../util/paths.js';
import type { CgroupPaths, Limits } from './cgroups.js';
import type { HostPathPin } from './host-paths.js';
import { RuntimeError } from './errors.js';
import type { LogConfig } from './logs/index.js';
import type { ContainerNetwork } from './network/plan.js';
import type { RunOptions } from './options.js';
import type { HealthConfig, HealthState } from './health/config.js';

/** 'broken': the record cannot be read (see brokenRecord); only `rm -f` and fsck act on it. */
export type ContainerStatus = 'created' | 'running' | 'exited' | 'broken';

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string;
  created: string;
  status: ContainerStatus;
  command: string[];
  options: RunOptions;
  limits: Limits;
  cgroups: CgroupPaths;
  idmapMode: 'subordinate' | 'single';
  /** The caller's supplementary groups that reach the container (single-ID mapping only, see runtime-facts.ts). */
  supplementaryGroups?: number[];
  warnings: string[];
  /**
   * sha256 of the custom seccomp profile's file as read at create: the policy's seccomp
   * exceptions name it, and start and exec are judged on it again.
   */
  seccompDigest?: string;
  /** The image's flattened root, the overlay's lower layer. */
  lowerdir: string;
  /**
   * The bind mounts' sources as the policy saw them (canonical) with the device and inode found
   * there at create: every start finds them again, or refuses (see host-paths.ts).
   */
  hostPaths?: HostPathPin[];
  /** How its log is kept (max-size, max-file); unset in records older than log rotation. */
  logConfig?: LogConfig;
  pid?: number;
  monitorPid?: number;
  /** The monitor's start time from /proc, so a reused PID is not taken for it. */
  monitorStart?: string;
  /**
   * The launcher (the sh that runs `runc run` and writes its status, see runc.ts) and its start
   * time: recorded as soon as it is spawned, so a start that never finishes can still be killed,
   * and a container whose monitor died is known to live on while its launcher does.
   */
  launcherPid?: number;
  launcherStart?: string;
  /** Its network as planned at create (network/plan.ts); unset in older records. */
  network?: ContainerNetwork;
  /**
   * The process whose user namespace it was started in, when not a fresh one of its own: the
   * networks' infra process (network/infra.ts), or the container whose network it shares.
   */
  sharedUserns?: { pid: number; start?: string };
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  /** Frozen by `moat pause` (its freezer cgroup) while running; cleared by unpause and at the end. */
  paused?: boolean;
  /** Its health check (resolved from the image and the run flags when it was created). */
  healthcheck?: HealthConfig;
  /** The health check's state (docker's State.Health), while it runs and after. */
  health?: HealthState;
  /** Times its restart policy ran it again since it was last started by hand. */
  restartCount?: number;
  /** Its monitor waits to run it again (restart policy back-off). */
  restarting?: boolean;
  /** Stopped (or killed) by hand: no restart policy runs it again until it is started. */
  manualStop?: boolean;
  /** Set when `ps` found the monitor gone and filled in the end itself. */
  reconciled?: boolean;
  error?: string;
}

/** What runc and the launcher write into, as container root for root (see container-dir.ts). */
export const RUN_DIR = 'run';

export interface ContainerDirs {
  dir: string;
  /** `RUN_DIR`: what runc and the launcher write, read back only as checked values. */
  run: string;
  /** runc's exit status, written by the launcher (see runc.ts LAUNCHER). */
  exitStatus: string;
  /** runc's pid file of the container's init: read once, checked (supervise.ts). */
  initPid: string;
  /** runc's log (its errors). */
  runcLog: string;
  /** The window-size FIFO of a container with a terminal (made by moat-tty: tty.ts). */
  ttyCtl: string;
  bundle: string;
  rootfs: string;
  upper: string;
  work: string;
  log: string;
  hosts: string;
  hostname: string;
  resolv: string;
  networkConfig: string;
  networkState: string;
  networkLog: string;
}

export function containerDirs(paths: MoatPaths, id: string): ContainerDirs {
  const dir = path.join(paths.containers, id);
  const run = path.join(dir, RUN_DIR);
  return {
    dir,
    run,
    exitStatus: path.join(run, 'exit-status'),
    initPid: path.join(run, 'init.pid'),
    runcLog: path.join(run, 'runc.log'),
    ttyCtl: path.join(run, 'tty.ctl'),
    bundle: path.join(dir, 'bundle'),
    rootfs: path.join(dir, 'bundle', 'rootfs'),
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    log: path.join(dir, 'container.log'),
    hosts: path.join(dir, 'hosts'),
    hostname: path.join(dir, 'hostname'),
    resolv: path.join(dir, 'resolv.conf'),
    // The network hook's configuration (network/hook.ts) and what it did (the stack's pid, ports).
    networkConfig: path.join(dir, 'network.json'),
    networkState: path.join(run, 'network-state.json'),
    networkLog: path.join(run, 'network.log'),
  };
}

export class ContainerStore {
  constructor(readonly paths: MoatPaths) {}

  recordPath(id: string): string {
    return path.join(this.paths.containers, id, 'container.json');
  }

  /**
   * Write the record atomically. `durable: false` skips the fsync (still all or nothing for a
   * crash of moat, not of the machine): for states that a reboot ends anyway, such as which
   * processes run a start, written while the container waits for them.
   */
  async save(rec: ContainerRecord, o: { durable?: boolean } = {}): Promise<void> {
    const file = this.recordPath(rec.id);
    if (o.durable !== false) return writeJsonAtomic(file, rec, 0o600);
    const tmp = tempNameFor(file);
    try {
      await fsp.writeFile(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async load(id: string): Promise<ContainerRecord> {
    try {
      return await readJson<ContainerRecord>(this.recordPath(id));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw notFound(id);
      throw new RuntimeError(
        'RUNTIME_CORRUPT_STATE',
        `container ${id} has an unreadable record: ${(e as Error).message}`,
        {
          hint: `remove it with moat rm -f ${id.slice(0, 12)}`,
        },
      );
    }
  }

  async list(): Promise<ContainerRecord[]> {
    let ids: string[];
    try {
      ids = await fsp.readdir(this.paths.containers);
    } catch {
      return [];
    }
    const out: ContainerRecord[] = [];
    for (const id of ids) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const rec = await this.read(id);
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => byCodeUnits(b.created, a.created));
  }

  /**
   * One container's record; a record that cannot be read or is not a record becomes a 'broken'
   * placeholder (so the container stays visible and removable); undefined when the directory
   * vanished meanwhile (a removal, which renames it away first).
   */
  private async read(id: string): Promise<ContainerRecord | undefined> {
    const file = this.recordPath(id);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        // A directory without a record: a commit writes the record before the directory appears
        // (rename), so this one lost its record.
        const st = await fsp.stat(path.dirname(file)).catch(() => undefined);
        return st ? brokenRecord(id, '', 'container.json is missing', st.mtime) : undefined;
      }
      return brokenRecord(id, '', `container.json cannot be read: ${(e as Error).message}`, new Date());
    }
    const problem = recordProblem(text, id);
    if (!problem) return JSON.parse(text) as ContainerRecord;
    const st = await fsp.stat(file).catch(() => undefined);
    return brokenRecord(id, text, problem, st?.mtime ?? new Date());
  }

  /** Find by full ID, unique ID prefix, or name (docker's rules). */
  async resolve(ref: string): Promise<ContainerRecord> {
    const all = await this.list();
    const byName = all.find((c) => c.name === ref);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(ref)) {
      const m = all.filter((c) => c.id.startsWith(ref));
      if (m.length === 1) return m[0];
      if (m.length > 1)
        throw new RuntimeError('RUNTIME_AMBIGUOUS_ID', `"${ref}" matches ${m.length} containers`, {
          hint: 'give more characters of the ID, or the name',
        });
    }
    throw notFound(ref);
  }

  lockPath(id: string): string {
    return path.join(this.paths.locks, `${id}.lock`);
  }

  /** Run fn with the container's lock held (the record may be broken: fn reads what it needs). */
  async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath(id), fn);
  }

  /** Run fn with the container's lock held, on a freshly loaded record. */
  async update<T>(id: string, fn: (rec: ContainerRecord) => Promise<T> | T): Promise<T> {
    return withLock(this.lockPath(id), async () => fn(await this.load(id)));
  }
}

/** Why this text is not a usable record of container `id` (undefined: it is one). */
function recordProblem(text: string, id: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `container.json is not valid JSON (${(e as Error).message})`;
  }
  const r = v as Partial<ContainerRecord> | null;
  if (typeof r !== 'object' || r === null) return 'container.json is not an object';
  if (r.id !== id) return 'container.json names another container';
  for (const k of ['name', 'image', 'imageId', 'created', 'status', 'lowerdir'] as const)
    if (typeof r[k] !== 'string') return `container.json has no ${k}`;
  if (!Array.isArray(r.command) || typeof r.options !== 'object' || typeof r.limits !== 'object')
    return 'container.json is incomplete';
  return undefined;
}

/**
 * A stand-in for a container whose record is unreadable (a truncated write, a full disk, an edit
 * gone wrong). What can be salvaged from the text is kept: the name (so it stays reserved and
 * `rm -f NAME` finds it), the image (so the image is known to be in use).
 */
export function brokenRecord(id: string, text: string, problem: string, mtime: Date): ContainerRecord {
  const field = (k: string): string | undefined => {
    const m = new RegExp(`"${k}"\\s*:\\s*"((?:[^"\\\\]|\\\\.){1,1024})"`).exec(text.slice(0, 65536));
    if (!m) return undefined;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return undefined;
    }
  };
  const name = field('name');
  const created = field('created');
  return {
    id,
    name: name && /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(name) ? name : '',
    image: field('image') ?? '',
    imageId: field('imageId') ?? '',
    created: created && !Number.isNaN(Date.parse(created)) ? created : mtime.toISOString(),
    status: 'broken',
    command: [],
    options: {} as RunOptions,
    limits: {},
    cgroups: {},
    idmapMode: 'subordinate',
    warnings: [],
    lowerdir: '',
    error: problem,
  };
}

function notFound(ref: string): RuntimeError {
  return new RuntimeError('RUNTIME_CONTAINER_NOT_FOUND', `no such container: ${ref}`, {
    hint: 'list containers with moat ps -a',
  });
}
