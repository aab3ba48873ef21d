/**
 * The host's side of `moat cp`, done as the calling user (the CLI's process, or the service's for
 * its owner): a host path archived as docker's client archives it, and a container's archive
 * extracted into a host directory. The archive comes from the container, so it is extracted
 * below the directory `cp` chose and nowhere else: no entry goes through a symlink (the
 * container's, or one already there), files are the caller's (no owner is given) and lose their
 * set-ID and sticky bits.
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { errnoCode } from '../../errors.js';
import { RuntimeError } from '../errors.js';
import type { CopyPlan } from './copy-plan.js';
import { extractArchive, type ExtractResult } from './extract.js';
import { Ids } from './ids.js';
import { Archive } from './pack.js';
import { FdRoot } from './root.js';

export interface HostStat {
  exists: boolean;
  isDir: boolean;
  st?: Stats;
}

function hostNotFound(p: string): RuntimeError {
  return new RuntimeError(
    'RUNTIME_PATH_NOT_FOUND',
    `no such file or directory on the host: ${JSON.stringify(p)}`,
    {
      hint: 'host paths are resolved from the current directory',
    },
  );
}

/** What a host path is; `follow`: through a symlink (a destination, `cp -L`). */
export function hostStat(p: string, follow: boolean): HostStat {
  try {
    const st = follow ? statSync(p) : lstatSync(p);
    return { exists: true, isDir: st.isDirectory(), st };
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false, isDir: false };
    throw e;
  }
}

export interface PackedHost {
  stream: Readable;
  /** Resolves once the archive is written (entries skipped: sockets). */
  done: Promise<{ skipped: string[] }>;
}

/**
 * A tar of the host path `p` whose top entry is `top` (the name it takes in the container).
 * Owners are the host's as they are (they count only with `cp -a`).
 */
export function packHostPath(p: string, o: { followLink: boolean; top: string }): PackedHost {
  const st = hostStat(p, o.followLink);
  if (!st.exists) throw hostNotFound(p);
  const real = o.followLink ? realpathSync(p) : path.resolve(p);
  const dir = path.dirname(real);
  const name = path.basename(real);
  const root = new FdRoot(dir);
  const archive = new Archive({ ids: new Ids() });
  const done = (async () => {
    try {
      await archive.tree(root.fd, real === '/' ? '' : name, o.top);
      archive.finalize();
      return { skipped: archive.skipped };
    } catch (e) {
      archive.pack.destroy(e as Error);
      throw e;
    } finally {
      root.close();
    }
  })();
  done.catch(() => {});
  return { stream: Readable.from(archive.pack), done };
}

/** Extract a container's archive into the host directory a copy plan chose. */
export async function extractToHost(input: Readable, plan: CopyPlan): Promise<ExtractResult> {
  let root: FdRoot;
  try {
    root = new FdRoot(plan.dir);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw hostNotFound(plan.dir);
    throw e;
  }
  try {
    return await extractArchive(root, input, {
      dir: '/',
      rebase: plan.rebase,
      noSymlinks: true,
      owner: { kind: 'caller' },
      modeMask: 0o777,
    });
  } finally {
    root.close();
  }
}
