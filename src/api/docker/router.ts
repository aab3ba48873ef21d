/**
 * Which handler answers a Docker request: the path (versioned `/v1.41/...` or not) and method
 * matched against one table, in order; `/_ping` before any; anything else is a 404 naming what
 * moat does not implement. A handler's error is answered in Docker's shape (`{ message }` with
 * the status its code maps to), or ends the response if the headers already went out.
 * Connections that ask for an upgrade (exec start, attach) are dispatched here too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, sendJson, statusOf } from '../http.js';
import { attachContainer } from './containers-attach.js';
import { getArchive, putArchive } from './containers-archive.js';
import { containerChanges } from './containers-changes.js';
import { commitContainer } from './commit.js';
import { exportContainer } from './containers-export.js';
import { imageHistory } from './images-history.js';
import { createContainer } from './containers-create.js';
import { inspectContainer } from './containers-inspect.js';
import {
  killContainer,
  notOffered,
  removeContainer,
  startContainer,
  stopContainer,
  waitContainer,
} from './containers-lifecycle.js';
import { listContainers } from './containers-list.js';
import { topContainer } from './containers-top.js';
import { pauseContainer } from './containers-pause.js';
import { renameContainer } from './containers-rename.js';
import { restartContainer } from './containers-restart.js';
import { updateContainer } from './containers-update.js';
import { pruneContainers } from './containers-prune.js';
import { pruneBuildCache, pruneImages } from './prune.js';
import { createVolume, inspectVolume, listVolumes, pruneVolumes, removeVolume } from './volumes.js';
import {
  connectNetwork,
  createNetwork,
  disconnectNetwork,
  inspectNetwork,
  listNetworks,
  pruneNetworks,
  removeNetwork,
} from './networks.js';
import { systemDf } from './system-df.js';
import { createExec, inspectExec, startExec, startExecUpgraded } from './exec-handlers.js';
import { failRaw, type DockerContext, type Handler } from './handler.js';
import { upgradeBody } from './hijack.js';
import { inspectImage, listImages, removeImage } from './images.js';
import { pullImage } from './images-pull.js';
import { resizeContainer, resizeExec } from './resize.js';
import { systemEvents } from './events.js';
import { systemInfo } from './info.js';
import { serveLogs } from './logs.js';
import { ping } from './ping.js';
import { serveStats } from './stats.js';
import { systemVersion } from './version.js';

type Route = readonly [method: string, path: RegExp, handler: Handler];

const containerLogs: Handler = ({ call, m, res, url }) => serveLogs(call, m[1], res, url.searchParams);
const containerStats: Handler = ({ call, m, res, url }) => serveStats(call, m[1], res, url.searchParams);

/** The table (exported for the test that sends every route through a denying policy). */
export const ROUTES: readonly Route[] = [
  ['GET', /^\/version$/, systemVersion],
  ['GET', /^\/info$/, systemInfo],
  ['GET', /^\/events$/, systemEvents],
  ['GET', /^\/images\/json$/, listImages],
  ['GET', /^\/images\/(.+)\/json$/, inspectImage],
  ['GET', /^\/images\/(.+)\/history$/, imageHistory],
  ['DELETE', /^\/images\/(.+)$/, removeImage],
  ['POST', /^\/images\/create$/, pullImage],
  ['POST', /^\/images\/prune$/, pruneImages],
  ['POST', /^\/networks\/prune$/, pruneNetworks],
  ['POST', /^\/volumes\/prune$/, pruneVolumes],
  ['GET', /^\/volumes$/, listVolumes],
  ['GET', /^\/networks$/, listNetworks],
  ['GET', /^\/networks\/([^/]+)$/, inspectNetwork],
  ['POST', /^\/networks\/create$/, createNetwork],
  ['DELETE', /^\/networks\/([^/]+)$/, removeNetwork],
  ['POST', /^\/networks\/([^/]+)\/connect$/, connectNetwork],
  ['POST', /^\/networks\/([^/]+)\/disconnect$/, disconnectNetwork],
  ['POST', /^\/volumes\/create$/, createVolume],
  ['GET', /^\/volumes\/([^/]+)$/, inspectVolume],
  ['DELETE', /^\/volumes\/([^/]+)$/, removeVolume],
  ['POST', /^\/build\/prune$/, pruneBuildCache],
  ['GET', /^\/containers\/json$/, listContainers],
  ['POST', /^\/containers\/create$/, createContainer],
  ['POST', /^\/containers\/prune$/, pruneContainers],
  ['GET', /^\/system\/df$/, systemDf],
  ['GET', /^\/containers\/([^/]+)\/json$/, inspectContainer],
  ['POST', /^\/containers\/([^/]+)\/start$/, startContainer],
  ['POST', /^\/containers\/([^/]+)\/wait$/, waitContainer],
  ['POST', /^\/containers\/([^/]+)\/stop$/, stopContainer],
  ['POST', /^\/containers\/([^/]+)\/kill$/, killContainer],
  ['DELETE', /^\/containers\/([^/]+)$/, removeContainer],
  ['GET', /^\/containers\/([^/]+)\/logs$/, containerLogs],
  ['GET', /^\/containers\/([^/]+)\/stats$/, containerStats],
  ['GET', /^\/containers\/([^/]+)\/top$/, topContainer],
  // docker cp (HEAD is served as GET), diff, export, commit: the container's files (runtime/files/)
  ['GET', /^\/containers\/([^/]+)\/archive$/, getArchive],
  ['PUT', /^\/containers\/([^/]+)\/archive$/, putArchive],
  ['GET', /^\/containers\/([^/]+)\/changes$/, containerChanges],
  ['GET', /^\/containers\/([^/]+)\/export$/, exportContainer],
  ['POST', /^\/commit$/, commitContainer],
  // exec: decided at create (container.exec), run at start (docker/exec.ts).
  ['POST', /^\/containers\/([^/]+)\/exec$/, createExec],
  ['POST', /^\/exec\/([^/]+)\/start$/, startExec],
  ['GET', /^\/exec\/([^/]+)\/json$/, inspectExec],
  // the window of a terminal attached by the requester (resize.ts)
  ['POST', /^\/containers\/([^/]+)\/resize$/, resizeContainer],
  ['POST', /^\/exec\/([^/]+)\/resize$/, resizeExec],
  ['POST', /^\/containers\/([^/]+)\/(pause|unpause)$/, pauseContainer],
  ['POST', /^\/containers\/([^/]+)\/rename$/, renameContainer],
  ['POST', /^\/containers\/([^/]+)\/update$/, updateContainer],
  ['POST', /^\/containers\/([^/]+)\/restart$/, restartContainer],
  ['POST', /^\/containers\/([^/]+)\/(attach)$/, notOffered],
];

/** Versioned paths (/v1.41/...) are served the same as unversioned ones. */
const unversioned = (pathname: string): string => pathname.replace(/^\/v1\.\d+(?=\/)/, '');

/** Docker's error shape: `{ message }`, with the status the code maps to. */
function sendError(res: ServerResponse, e: unknown): void {
  const b = errorBody(e);
  sendJson(res, statusOf(b.code), { message: b.hint ? `${b.message} (${b.hint})` : b.message, code: b.code });
}

export async function serve(
  ctx: DockerContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const p = unversioned(url.pathname);
  if (p === '/_ping') {
    ping(req, res);
    return;
  }
  for (const [verb, re, handler] of ROUTES) {
    if (verb !== method) continue;
    const m = re.exec(p);
    if (!m) continue;
    try {
      await handler({ call: ctx.callerFor(req), m, req, res, url, ctx });
    } catch (e) {
      if (res.headersSent) res.destroy();
      else sendError(res, e);
    }
    return;
  }
  sendJson(res, 404, {
    message: `moat does not implement ${req.method} ${p} of Docker's API`,
    code: 'API_NOT_FOUND',
  });
}

/** A connection that asked for an upgrade to a raw stream: exec start or attach, else a 404. */
export async function serveUpgrade(ctx: DockerContext, req: IncomingMessage, socket: Duplex): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://moat');
  const p = unversioned(url.pathname);
  // exec start's body ({Detach, Tty}) is the instance's own; the stream follows it.
  try {
    await upgradeBody(req, socket);
  } catch (e) {
    const b = errorBody(e);
    failRaw(socket, statusOf(b.code), { message: b.message, code: b.code });
    return;
  }
  const m = /^\/containers\/([^/]+)\/attach$/.exec(p);
  const ex = /^\/exec\/([^/]+)\/start$/.exec(p);
  if (req.method === 'POST' && ex) return startExecUpgraded(ctx, req, ex[1], socket);
  if (req.method !== 'POST' || !m) {
    failRaw(socket, 404, { message: `moat does not upgrade ${req.method} ${p}`, code: 'API_NOT_FOUND' });
    return;
  }
  return attachContainer(ctx, req, m[1], url.searchParams, socket);
}
