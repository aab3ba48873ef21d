/**
 * `docker exec` over HTTP: create (`POST /containers/{id}/exec`), start (`POST /exec/{id}/start`,
 * upgraded to a raw stream or not) and inspect (`GET /exec/{id}/json`), onto the service's exec
 * instances (exec.ts), each for the subject that sent the request. Decided at create
 * (container.exec), run at start.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, readJson, sendJson, statusOf, subjectOf } from '../http.js';
import { failRaw, UPGRADED, type DockerContext, type Handler } from './handler.js';

export const createExec: Handler = async ({ call, m, req, res, ctx }) =>
  sendJson(res, 201, {
    Id: await ctx.execs.create(call, subjectOf(ctx.options, req), m[1], await readJson(req)),
  });

export const startExec: Handler = async ({ m, req, res, ctx }) =>
  ctx.execs.start(subjectOf(ctx.options, req), m[1], await readJson(req), res);

export const inspectExec: Handler = async ({ m, req, res, ctx }) =>
  sendJson(res, 200, ctx.execs.inspect(subjectOf(ctx.options, req), m[1]));

/** `POST /exec/{id}/start` with `Upgrade: tcp`: the output framed on the connection itself. */
export async function startExecUpgraded(
  ctx: DockerContext,
  req: IncomingMessage,
  id: string,
  socket: Duplex,
): Promise<void> {
  const answer = () => socket.write(UPGRADED);
  try {
    await ctx.execs.startUpgraded(subjectOf(ctx.options, req), id, socket, answer);
  } catch (e) {
    const b = errorBody(e);
    failRaw(socket, statusOf(b.code), { message: b.message, code: b.code });
  }
}
