/**
 * Named and anonymous volumes: directories under moat's data directory that outlive containers.
 *
 *   <data>/volumes/<name>/volume.json   what it is (name, labels, options, anonymous, created)
 *   <data>/volumes/<name>/_data         what containers see (bind-mounted, pinned like any bind)
 *
 * A name is docker's (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), so it can never climb out of the directory
 * or hide as moat's own temporary entries (which start with a dot). A volume appears at once: it
 * is made under a temporary name and renamed into place, so no half-made volume is ever listed;
 * when two creates race, the first rename wins and the other returns what is there. Files a
 * container wrote as its other users belong to subordinate IDs: removal goes through the user
 * namespace when plain removal cannot (userns/exec.ts).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, readdirOrEmpty } from '../../util/fsutil.js';
import type { MoatPaths } from '../../util/paths.js';
import { RuntimeError } from '../errors.js';

/** Held while volumes are made and used (create) or removed (volume rm, prune, rm -v). */
export const volumesLock = (paths: MoatPaths): string => path.join(paths.locks, 'volumes.lock');

/** The containers (records) that mount volume `name`, running or not. */
export function volumeUsers<C extends { options?: { volumes?: { volume?: string }[] } }>(
  containers: readonly C[],
  name: string,
): C[] {
  return containers.filter((c) => (c.options?.volumes ?? []).some((v) => v.volume === name));
}

/** docker's volume name rule (at least two characters). */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const MAX_NAME = 255;

/** What a volume is (volume.json). */
export interface VolumeRecord {
  name: string;
  /** ISO time of its creation. */
  created: string;
  labels: Record<string, string>;
  /** Driver options as given (`--opt`): only `o=uid=N,gid=N` and `o=nocopy` are accepted. */
  options: Record<string, string>;
  /** Made for one container (-v /path, the image's VOLUME): `rm -v` and `prune` remove it. */
  anonymous: boolean;
}

export interface CreateVolume {
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
}

/** A fresh anonymous volume's name: 64 hex digits, as docker's. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

export function checkVolumeName(name: string): void {
  if (!VOLUME_NAME.test(name) || name.length > MAX_NAME)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid volume name "${name.slice(0, 80)}"`, {
      hint: 'a volume name has two or more of letters, digits, _ . - and starts with a letter or digit; a host path starts with /',
    });
}

/**
 * Driver options moat's local volumes take. They are directories, not mounts (mounting needs
 * root), so `type` and `device` are refused; `o` may carry `uid=N`, `gid=N` (the owner of the
 * volume's root, as the container sees it) and `nocopy` (never populated from an image).
 */
export function volumeOwnerOption(options: Record<string, string>): {
  uid?: number;
  gid?: number;
  nocopy: boolean;
} {
  const out: { uid?: number; gid?: number; nocopy: boolean } = { nocopy: false };
  for (const [k, v] of Object.entries(options)) {
    if (k !== 'o')
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `volume option "${k.slice(0, 40)}" is not supported`, {
        hint: "moat's volumes are directories under its data directory (mounting a device or a filesystem needs root): the only option is o=uid=N,gid=N[,nocopy]",
      });
    for (const part of v.split(',')) {
      if (!part) continue;
      const m = /^(uid|gid)=(\d{1,10})$/.exec(part);
      if (m && Number(m[2]) <= 0xfffffffe) out[m[1] as 'uid' | 'gid'] = Number(m[2]);
      else if (part === 'nocopy') out.nocopy = true;
      else
        throw new RuntimeError(
          'RUNTIME_INVALID_OPTION',
          `volume option o=${part.slice(0, 40)} is not supported`,
          {
            hint: 'o takes uid=N, gid=N (IDs as the container sees them) and nocopy',
          },
        );
    }
  }
  return out;
}

export class VolumeStore {
  readonly dir: string;

  constructor(paths: MoatPaths) {
    this.dir = path.join(paths.data, 'volumes');
  }

  /** The directory containers mount (whether the volume exists yet or not). */
  mountpoint(name: string): string {
    checkVolumeName(name);
    return path.join(this.dir, name, '_data');
  }

  async find(name: string): Promise<VolumeRecord | undefined> {
    if (!VOLUME_NAME.test(name) || name.length > MAX_NAME) return undefined;
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.dir, name, 'volume.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return parseRecord(text, name);
  }

  async get(name: string): Promise<VolumeRecord> {
    const v = await this.find(name);
    if (!v) throw new RuntimeError('RUNTIME_VOLUME_NOT_FOUND', `no such volume: ${name.slice(0, 100)}`);
    return v;
  }

  async list(): Promise<VolumeRecord[]> {
    const names = await readdirOrEmpty(this.dir);
    const out: VolumeRecord[] = [];
    for (const n of names.sort()) {
      const v = await this.find(n).catch(() => undefined);
      if (v) out.push(v);
    }
    return out;
  }

  /**
   * Create `name` unless it exists; `created` says whether this call made it. `owner`: for root,
   * the host IDs of container root, which must own the volume's root to write into it.
   */
  async create(
    name: string,
    o: CreateVolume = {},
    owner?: { uid: number; gid: number },
  ): Promise<{ volume: VolumeRecord; created: boolean }> {
    checkVolumeName(name);
    volumeOwnerOption(o.options ?? {});
    const existing = await this.find(name);
    if (existing) return { volume: existing, created: false };
    await fsp.mkdir(this.dir, { recursive: true, mode: owner ? 0o711 : 0o700 });
    const rec: VolumeRecord = {
      name,
      created: new Date().toISOString(),
      labels: { ...(o.labels ?? {}) },
      options: { ...(o.options ?? {}) },
      anonymous: Boolean(o.anonymous),
    };
    const tmp = path.join(this.dir, `.new-${randomBytes(8).toString('hex')}`);
    await fsp.mkdir(tmp, { mode: owner ? 0o711 : 0o700 });
    try {
      await fsp.mkdir(path.join(tmp, '_data'), { mode: 0o755 });
      if (owner) await fsp.chown(path.join(tmp, '_data'), owner.uid, owner.gid);
      await writeFileAtomic(path.join(tmp, 'volume.json'), JSON.stringify(rec, null, 2), 0o600);
      await fsp.rename(tmp, path.join(this.dir, name));
    } catch (e) {
      await fsp.rm(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      // Another create won the race: its volume is the one.
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return { volume: await this.get(name), created: false };
      throw e;
    }
    return { volume: rec, created: true };
  }

  /**
   * Take the volume out of the listing at once (renamed to a dot name), then remove its files
   * with `removeTree` (which can remove files owned by the container's other users).
   */
  async remove(name: string, removeTree: (dir: string) => Promise<void>): Promise<void> {
    await this.get(name);
    const gone = path.join(this.dir, `.removing-${name}-${randomBytes(4).toString('hex')}`);
    await fsp.rename(path.join(this.dir, name), gone);
    await removeTree(gone);
  }

  /** Left-overs of interrupted creates and removals (dot names), for fsck-like clean-ups. */
  async leftovers(): Promise<string[]> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    return names
      .filter((n) => n.startsWith('.new-') || n.startsWith('.removing-'))
      .map((n) => path.join(this.dir, n));
  }
}

function parseRecord(text: string, name: string): VolumeRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RuntimeError('RUNTIME_CORRUPT_STATE', `volume ${name}: its volume.json is not JSON`);
  }
  const r = v as Partial<VolumeRecord>;
  const strings = (o: unknown): Record<string, string> =>
    o && typeof o === 'object'
      ? Object.fromEntries(Object.entries(o).filter(([, x]) => typeof x === 'string') as [string, string][])
      : {};
  return {
    // The directory's name is the volume's: a record cannot claim another's.
    name,
    created: typeof r.created === 'string' ? r.created : new Date(0).toISOString(),
    labels: strings(r.labels),
    options: strings(r.options),
    anonymous: r.anonymous === true,
  };
}
