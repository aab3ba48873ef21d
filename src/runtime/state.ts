/**
 * Container records on disk: `$XDG_DATA_HOME/moat/containers/<id>/container.json`, rewritten
 * atomically (temp + rename) so a crash never leaves half a record. Mutations of one container
 * are serialised by a per-container lock in the runtime directory.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors.js';
import { readJson, writeJsonAtomic } from '../util/fsutil.js';
import { withLock } from '../util/lock.js';
import type { MoatPaths } from '../util/paths.js';
import type { CgroupPaths, Limits } from './cgroups.js';
import { RuntimeError } from './errors.js';
import type { RunOptions } from './options.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

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
  /** The caller's supplementary groups: rootless runc never calls setgroups, so they reach the container. */
  supplementaryGroups?: number[];
  warnings: string[];
  /** The image's flattened root, the overlay's lower layer. */
  lowerdir: string;
  pid?: number;
  monitorPid?: number;
  /** The monitor's start time from /proc, so a reused PID is not taken for it. */
  monitorStart?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  /** Set when `ps` found the monitor gone and filled in the end itself. */
  reconciled?: boolean;
  error?: string;
}

export interface ContainerDirs {
  dir: string;
  bundle: string;
  rootfs: string;
  upper: string;
  work: string;
  log: string;
  hosts: string;
  hostname: string;
}

export function containerDirs(paths: MoatPaths, id: string): ContainerDirs {
  const dir = path.join(paths.containers, id);
  return {
    dir,
    bundle: path.join(dir, 'bundle'),
    rootfs: path.join(dir, 'bundle', 'rootfs'),
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    log: path.join(dir, 'container.log'),
    hosts: path.join(dir, 'hosts'),
    hostname: path.join(dir, 'hostname'),
  };
}

export class ContainerStore {
  constructor(readonly paths: MoatPaths) {}

  recordPath(id: string): string {
    return path.join(this.paths.containers, id, 'container.json');
  }

  async save(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(this.recordPath(rec.id), rec, 0o600);
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
      try {
        out.push(await readJson<ContainerRecord>(this.recordPath(id)));
      } catch {
        /* being created or removed */
      }
    }
    return out.sort((a, b) => b.created.localeCompare(a.created));
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

  /** Run fn with the container's lock held, on a freshly loaded record. */
  async update<T>(id: string, fn: (rec: ContainerRecord) => Promise<T> | T): Promise<T> {
    return withLock(this.lockPath(id), async () => fn(await this.load(id)));
  }
}

function notFound(ref: string): RuntimeError {
  return new RuntimeError('RUNTIME_CONTAINER_NOT_FOUND', `no such container: ${ref}`, {
    hint: 'list containers with moat ps -a',
  });
}
