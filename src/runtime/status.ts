/**
 * A container's status in words, as `docker ps` shows it: "Up 3 minutes", "Exited (0) 5 seconds
 * ago", "Created"; moat's own "Broken" for a record it cannot read. One wording for `moat ps` and
 * the Docker API's container list.
 */
import { since } from '../util/format.js';
import type { ContainerRecord } from './state.js';

/** Docker's state word: created, running, paused, exited (and moat's broken). */
export function dockerState(c: ContainerRecord): string {
  return c.status === 'running' && c.paused ? 'paused' : c.status;
}

export function humanStatus(c: ContainerRecord, now = Date.now()): string {
  switch (c.status) {
    case 'running': {
      const up = `Up ${since(c.startedAt, now) ?? 'a while'}`;
      if (c.paused) return `${up} (Paused)`;
      const h = c.healthcheck ? c.health?.status : undefined;
      return h ? `${up} (${h === 'starting' ? 'health: starting' : h})` : up;
    }
    case 'exited':
      if (c.restarting)
        return `Restarting (${c.exitCode ?? '?'}) ${since(c.finishedAt, now) ?? 'a while'} ago`;
      // An exited record without its status (moat did not learn it) shows '?', not a success.
      return `Exited (${c.exitCode ?? '?'}) ${since(c.finishedAt, now) ?? 'a while'} ago`;
    case 'created':
      return 'Created';
    case 'broken':
      return 'Broken';
  }
}
