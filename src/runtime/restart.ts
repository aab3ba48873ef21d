/**
 * Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`), as docker's: the
 * container's monitor (monitor-main.ts) runs it again after it ends, with a back-off, until the
 * policy says no. `moat stop` / `moat kill` mark it stopped by hand, which no policy overrides;
 * a start clears the mark. There is no daemon, so nothing restarts containers after a reboot:
 * `moat generate systemd NAME` writes a user unit that does (see generate-systemd.ts). Pure.
 */
import { RuntimeError } from './errors.js';

export type RestartName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartName;
  /** on-failure only: at most this many restarts (0: no limit). */
  maxRetries?: number;
}

const NAMES: readonly RestartName[] = ['no', 'on-failure', 'always', 'unless-stopped'];

/** docker's --restart value: a policy name, `on-failure:N` for a bound on the retries. */
export function parseRestart(v: string): RestartPolicy {
  const [name, count, ...rest] = v.split(':');
  const bad = (why: string) =>
    new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --restart "${v}": ${why}`, {
      hint: 'use no, on-failure, on-failure:N (at most N restarts), always or unless-stopped',
    });
  if (!(NAMES as readonly string[]).includes(name) || rest.length) throw bad('not a restart policy');
  if (count === undefined) return { name: name as RestartName };
  if (name !== 'on-failure') throw bad('only on-failure takes a maximum retry count');
  if (!/^\d{1,9}$/.test(count)) throw bad('the retry count must be a whole number');
  return { name: 'on-failure', maxRetries: Number(count) };
}

/** Whether a container that ended so should run again. */
export function shouldRestart(
  p: RestartPolicy | undefined,
  ended: { exitCode: number; started: boolean; manualStop: boolean; restarts: number },
): boolean {
  if (!p || p.name === 'no' || ended.manualStop || !ended.started) return false;
  if (p.name === 'on-failure')
    return ended.exitCode !== 0 && (!p.maxRetries || ended.restarts < p.maxRetries);
  return true;
}

/** Docker's back-off: 100 ms, doubled for each restart in a row, at most a minute. */
export function restartDelayMs(inARow: number): number {
  return Math.min(60_000, 100 * 2 ** Math.min(inARow, 16));
}

/** A run that lasted this long resets the back-off (docker: 10 s). */
export const BACKOFF_RESET_MS = 10_000;
