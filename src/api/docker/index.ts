/**
 * The subset of Docker's Engine API (v1.41 shapes) that the `docker` CLI needs for ps, images,
 * pull, create, run (-it too), start (-ai), attach, wait, logs, stats, exec (-it too), stop,
 * kill, rm, rmi, inspect, cp, diff, export, commit, history, info and version. Each request is
 * translated onto a router route (so the policy decides it, as for the CLI) and the result back
 * into Docker's shape. What moat does
 * not offer is refused with a message the CLI prints: attach without an upgrade, and every option
 * that would loosen the isolation (`--privileged`, host namespaces, devices, an unconfined
 * seccomp profile).
 *
 * This folder, one file per resource or verb (as podman's `pkg/api/handlers/compat/`):
 * - router.ts: the method + path → handler table, errors in Docker's shape, upgrades;
 * - handler.ts: what a handler is given and shares; call.ts: the router call as the sender;
 * - ping.ts, version.ts, info.ts, platform.ts: the system endpoints and the host's platform;
 * - containers-{list,create,inspect,lifecycle,attach}.ts, logs.ts, stats.ts, exec-handlers.ts
 *   (with exec.ts, the instances): containers; create-options.ts and unsupported.ts translate
 *   and refuse create fields;
 * - hijack.ts, console.ts, attachments.ts, resize.ts: a client's terminal and stdin on an
 *   upgraded connection, its window's resizes, attachments waiting for their container's start;
 * - containers-{archive,changes,export}.ts, commit.ts: docker cp (HEAD/GET/PUT archive), diff,
 *   export and commit, onto the file routes (files-routes.ts);
 * - images.ts, images-pull.ts, images-history.ts: images; list.ts, filters.ts, list-facts.ts: the
 *   list queries;
 * - stream.ts: Docker's multiplexed stream framing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { subjectOf } from '../http.js';
import type { ApiServerOptions } from '../server-options.js';
import type { Call } from './call.js';
import { dockerAttachments } from './attachments.js';
import { dockerExecs } from './exec.js';
import type { DockerContext } from './handler.js';
import { serve, serveUpgrade } from './router.js';

export { runOptionsFromDocker } from './containers-create.js';
export { containerInspect } from './containers-inspect.js';
export { containerSummary } from './containers-list.js';
export { humanStatus } from '../../runtime/status.js';
export { imageSummary } from './images.js';
export { DOCKER_API_VERSION } from './version.js';

export interface DockerApi {
  request: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** Attach and exec start with `Upgrade: tcp`: the process's streams as Docker's raw stream. */
  upgrade: (req: IncomingMessage, socket: Duplex) => Promise<void>;
}

export function dockerApi(o: ApiServerOptions): DockerApi {
  const callerFor =
    (req: IncomingMessage): Call =>
    (method, path, body = {}, io, onAllowed) =>
      o.router.handle({
        subject: subjectOf(o, req),
        method,
        path,
        body,
        ...(io ? { io } : {}),
        ...(onAllowed ? { onAllowed } : {}),
      });
  const ctx: DockerContext = {
    options: o,
    execs: dockerExecs(),
    attachments: dockerAttachments(),
    callerFor,
  };
  return {
    request: (req, res, url) => serve(ctx, req, res, url),
    upgrade: (req, socket) => serveUpgrade(ctx, req, socket),
  };
}
