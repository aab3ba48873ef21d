/**
 * The last word of removed containers: `<runtime>/exits/<id>.json` holds the exit status of a
 * container removed after it ended. A `docker run --rm` waits for the container to be *removed*
 * (condition "removed") and exits with the status that wait returns; with `--rm` done by the
 * monitor, the record may be gone before a waiter polls it, so the waiter reads the status here.
 * Kept a few minutes, in the runtime directory (tmpfs: gone at reboot), pruned as new ones come.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/fsutil.js';
import type { MoatPaths } from '../util/paths.js';
import type { ContainerRecord } from './state.js';

const KEEP_MS = 10 * 60_000;

export interface ExitNote {
  id: string;
  name: string;
  exitCode: number;
  oomKilled: boolean;
  finishedAt?: string;
  error?: string;
}

const dirOf = (p: MoatPaths) => path.join(p.runtime, 'exits');

/** Note the end of a container that is about to be removed (nothing when it never ran). */
export async function noteExit(p: MoatPaths, rec: ContainerRecord): Promise<void> {
  if (rec.exitCode === undefined) return;
  const dir = dirOf(p);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const note: ExitNote = {
    id: rec.id,
    name: rec.name,
    exitCode: rec.exitCode,
    oomKilled: rec.oomKilled ?? false,
    ...(rec.finishedAt ? { finishedAt: rec.finishedAt } : {}),
    ...(rec.error ? { error: rec.error } : {}),
  };
  await writeJsonAtomic(path.join(dir, `${rec.id}.json`), note, 0o600);
  await prune(dir);
}

/** The exit of a container removed in the last minutes, if noted. */
export async function readExit(p: MoatPaths, id: string): Promise<ExitNote | undefined> {
  if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
  try {
    const n = JSON.parse(await fsp.readFile(path.join(dirOf(p), `${id}.json`), 'utf8')) as ExitNote;
    return typeof n.exitCode === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

async function prune(dir: string): Promise<void> {
  const cutoff = Date.now() - KEEP_MS;
  for (const f of await fsp.readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, f);
    const st = await fsp.stat(full).catch(() => undefined);
    if (st && st.mtimeMs < cutoff) await fsp.rm(full, { force: true });
  }
}
