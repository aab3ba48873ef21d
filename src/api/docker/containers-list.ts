/**
 * `GET /containers/json` (docker ps): every record through the router, chosen by Docker's query
 * (list.ts), each shown as Docker's container summary with its human status.
 */
import type { ContainerRecord } from '../../runtime/state.js';
import { sendJson } from '../http.js';
import { epoch, type Handler } from './handler.js';
import { imageIds } from './list-facts.js';
import { containerQuery, selectContainers } from './list.js';

/** "Up 3 minutes", "Exited (0) 5 seconds ago", "Created". */
export function humanStatus(c: ContainerRecord, now = Date.now()): string {
  const ago = (iso: string | undefined): string => {
    const s = Math.max(0, Math.round((now - Date.parse(iso ?? '')) / 1000));
    if (!Number.isFinite(s)) return 'a while';
    if (s < 60) return s <= 1 ? 'Less than a second' : `${s} seconds`;
    const m = Math.round(s / 60);
    if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
    const h = Math.round(m / 60);
    return h < 48 ? (h === 1 ? 'About an hour' : `${h} hours`) : `${Math.round(h / 24)} days`;
  };
  if (c.status === 'running') return `Up ${ago(c.startedAt)}`;
  if (c.status === 'exited') return `Exited (${c.exitCode ?? 0}) ${ago(c.finishedAt)} ago`;
  return 'Created';
}

export function containerSummary(c: ContainerRecord): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.command.join(' '),
    Created: epoch(c.created),
    State: c.status,
    Status: humanStatus(c),
    Ports: [],
    Labels: c.options.labels ?? {},
    SizeRw: 0,
    SizeRootFs: 0,
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

export const listContainers: Handler = async ({ call, res, url }) => {
  const q = containerQuery(url.searchParams);
  // Every record: limits and filters choose among stopped ones too.
  const recs = (await call('GET', '/containers', { all: true })) as ContainerRecord[];
  const ancestors = q.filters.get('ancestor');
  const ids = ancestors ? await imageIds(call, ancestors) : undefined;
  sendJson(res, 200, selectContainers(recs, q, ids).map(containerSummary));
};
