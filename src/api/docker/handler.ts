/**
 * What every Docker handler is given and the small things they share: the exchange (the router
 * call as the request's sender, the path's match, the request and its response), the service's
 * context, and Docker's ways of saying yes (a flag in the query), nothing (204) and no (an option
 * moat refuses); and the raw answers on a connection that asked for an upgrade. A handler throws
 * to answer with an error (router.ts shapes it for Docker).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../errors.js';
import type { Subject } from '../router.js';
import type { ApiServerOptions } from '../server-options.js';
import type { dockerAttachments } from './attachments.js';
import type { Call } from './call.js';
import type { dockerExecs } from './exec.js';

/** The exec instances of one service (exec.ts). */
export type DockerExecs = ReturnType<typeof dockerExecs>;
/** The attachments of one service's clients to containers (attachments.ts). */
export type DockerAttachments = ReturnType<typeof dockerAttachments>;

/** What one Docker API service holds, shared by its handlers. */
export interface DockerContext {
  options: ApiServerOptions;
  execs: DockerExecs;
  attachments: DockerAttachments;
  /** Requests on the router as the sender of `req`. */
  callerFor: (req: IncomingMessage) => Call;
}

export interface Exchange {
  call: Call;
  /** The path's match: `m[1]` is the container, image or exec instance it names. */
  m: RegExpExecArray;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  ctx: DockerContext;
}

export type Handler = (x: Exchange) => Promise<void>;

export const enc = encodeURIComponent;

/** Whose an exec instance or an attachment is: only its subject starts, inspects or resizes it. */
export const ownerOf = (s: Subject): string => JSON.stringify([s.user, s.uid, s.via, s.local ?? null]);

/** A boolean query parameter as Docker reads it: present and not `0`, `false` or empty. */
export const flag = (v: string | null): boolean => v !== null && v !== '0' && v !== 'false' && v !== '';

/** Docker's times in lists: seconds since the epoch (0 when unknown). */
export const epoch = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

export function noContent(res: ServerResponse): void {
  res.writeHead(204).end();
}

/** Refuse a Docker option that is set to something other than its default. */
export function refuse(what: string, why: string): never {
  throw new ApiError('API_INVALID_REQUEST', `${what} is not supported by moat: ${why}`);
}

/** The answer to an upgrade: from here on the connection carries Docker's raw stream. */
export const UPGRADED =
  'HTTP/1.1 101 UPGRADED\r\ncontent-type: application/vnd.docker.raw-stream\r\n' +
  'connection: Upgrade\r\nupgrade: tcp\r\n\r\n';

/** An error answered on a connection that asked for an upgrade (no response object owns it). */
export function failRaw(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}
