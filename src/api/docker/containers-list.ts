/**
 * `GET /containers/json` (docker ps): every record through the router, chosen by Docker's query
 * (list.ts), each shown as Docker's container summary with its human status and the user-defined
 * networks it is on (`docker ps --format '{{.Networks}}'`; network.list's view, as inspect).
 */
import type { ContainerRecord } from '../../runtime/state.js';
import { dockerState, humanStatus } from '../../runtime/status.js';
import { sendJson } from '../http.js';
import { epoch, type Handler } from './handler.js';
import type { NetworkView } from '../network-routes.js';
import { networksOf } from './containers-inspect.js';
import { imageIds } from './list-facts.js';
import { containerQuery, selectContainers } from './list.js';

export function containerSummary(
  c: ContainerRecord,
  networks: readonly NetworkView[] = [],
): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.command.join(' '),
    Created: epoch(c.created),
    State: dockerState(c),
    Status: humanStatus(c),
    // As asked (-p); a host port chosen at start (-P, -p PORT) is in inspect's NetworkSettings.
    Ports:
      c.status === 'running'
        ? (c.options.ports ?? []).map((p) => ({
            IP: p.hostIp,
            PrivatePort: p.containerPort,
            ...(p.hostPort ? { PublicPort: p.hostPort } : {}),
            Type: p.protocol,
          }))
        : [],
    Labels: c.options.labels ?? {},
    SizeRw: 0,
    SizeRootFs: 0,
    HostConfig: { NetworkMode: c.options.network ?? 'none' },
    NetworkSettings: { Networks: networksOf(c.id, networks) },
    Mounts: [],
  };
}

export const listContainers: Handler = async ({ call, res, url }) => {
  const q = containerQuery(url.searchParams);
  // Every record: limits and filters choose among stopped ones too.
  const recs = (await call('GET', '/containers', { all: true })) as ContainerRecord[];
  const ancestors = q.filters.get('ancestor');
  const ids = ancestors ? await imageIds(call, ancestors) : undefined;
  // As network.list shows them to the same sender (a policy that does not let it list networks
  // leaves them out, and the network filter then matches the mode each container was run with).
  const networks = (await call('GET', '/networks').catch(() => [])) as NetworkView[];
  sendJson(
    res,
    200,
    selectContainers(recs, q, ids, networks).map((c) => containerSummary(c, networks)),
  );
};
