/**
 * `moat top`: the processes of a running container, as `ps` with the options given would show
 * them (ps.ts for the options and columns, procs.ts for what is read).
 */
import { promises as fsp } from 'node:fs';
import { totalmem } from 'node:os';
import * as path from 'node:path';
import { readContainerFile } from '../container-files.js';
import { RuntimeError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import { reconcile } from '../reconcile.js';
import { containerDirs } from '../state.js';
import { containerProcs } from './procs.js';
import { parsePsArgs, psTable, PsArgsError, type PsClock } from './ps.js';

export { parsePsArgs, psTable, topText, PS_DEFAULT_ARGS } from './ps.js';

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** The host's boot time (seconds since the epoch) from /proc/stat. */
async function bootTime(proc: string): Promise<number> {
  const text = await fsp.readFile(path.join(proc, 'stat'), 'utf8').catch(() => '');
  const m = /^btime\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : Math.floor(Date.now() / 1000);
}

export async function topContainer(
  e: Lifecycle,
  ref: string,
  psArgs: string | undefined,
  proc = '/proc',
): Promise<TopResult> {
  let columns;
  try {
    columns = parsePsArgs(psArgs);
  } catch (err) {
    if (!(err instanceof PsArgsError)) throw err;
    throw new RuntimeError('RUNTIME_INVALID_OPTION', err.message, {
      hint: 'moat top NAME -o pid,user,args (moat top --help lists the columns)',
    });
  }
  const rec = await reconcile(e, await e.containers.resolve(ref));
  if (rec.status !== 'running' || !rec.pid)
    throw new RuntimeError(
      'RUNTIME_INVALID_STATE',
      `container ${rec.name || rec.id.slice(0, 12)} is not running`,
      {
        hint: `start it with moat start ${rec.name || rec.id.slice(0, 12)}`,
      },
    );
  const layers = { upper: containerDirs(e.deps.paths, rec.id).upper, lower: rec.lowerdir };
  const [passwd, group] = await Promise.all(
    ['etc/passwd', 'etc/group'].map((f) => readContainerFile(layers, f).catch(() => undefined)),
  );
  const procs = await containerProcs(rec.pid, { proc, passwd, group });
  const clock: PsClock = {
    now: Date.now(),
    bootTime: await bootTime(proc),
    hz: 100,
    memTotalKb: Math.floor(totalmem() / 1024),
  };
  return psTable(procs, columns, clock);
}
