/**
 * One HTTP exchange with a registry host, and reading what comes back. undici does the HTTP;
 * this file picks the dispatcher (TLS trust and verification per host, see tls.ts), sets the
 * timeouts from registries.json, and maps what undici throws to stable codes (errors.ts).
 * Nothing here follows redirects or answers challenges: redirect.ts and the client do.
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { ImageError } from '../../errors.js';
import type { RegistriesConfig } from '../config.js';
import { transportFor, type Transport } from '../endpoint.js';
import { agentFor } from '../tls.js';
import { tooLarge, transportError } from './errors.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Dispatcher.ResponseData['body'];
  url: string;
}

/** A buffer, or a factory so the body can be sent again after an auth retry or a redirect. */
export type RequestBody = Buffer | (() => Readable);

/** One request and its response, any status; transport failures thrown with stable codes. */
export type Exchange = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body: RequestBody | undefined,
  bodyLength?: number,
) => Promise<RegistryResponse>;

/**
 * The exchange for one registry: its own endpoint verified as its transport says, any other host
 * (a token realm, a redirect's object storage) as that host's own transport says.
 */
export function exchangeFor(
  cfg: RegistriesConfig,
  endpoint: string,
  transport: Pick<Transport, 'verify'>,
): Exchange {
  return async (method, url, headers, body, bodyLength) => {
    const u = new URL(url);
    const verify = u.host === endpoint ? transport.verify : transportFor(u.host, cfg).verify;
    const dispatcher = agentFor(u.host, verify, cfg);
    const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : body();
    const h: Record<string, string> = { 'user-agent': 'moat/0.1', ...headers };
    if (bodyLength !== undefined) h['content-length'] = String(bodyLength);
    else if (Buffer.isBuffer(b)) h['content-length'] = String(b.length);
    try {
      const res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: h,
        body: b,
        dispatcher,
        headersTimeout: cfg.timeouts.headersMs,
        bodyTimeout: cfg.timeouts.bodyIdleMs,
      });
      return { status: res.statusCode, headers: res.headers as Headers, body: res.body, url };
    } catch (e) {
      if (b && !Buffer.isBuffer(b)) b.destroy();
      throw transportError(e, `${method} ${u.host}${u.pathname}`, u.host);
    }
  };
}

/** Drop a response body without reading it (an abort error must not go unhandled). */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

export function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Read a whole (small) body, refusing more than `max` bytes (IMAGE_BLOB_TOO_LARGE). */
export async function readCapped(res: RegistryResponse, max: number, what: string): Promise<Buffer> {
  const len = Number(header(res.headers, 'content-length'));
  if (Number.isFinite(len) && len > max) {
    discard(res.body);
    throw tooLarge(what, len, max);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > max) {
        discard(res.body);
        throw tooLarge(what, n, max);
      }
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw transportError(e, what, new URL(res.url).host, true);
  }
  return Buffer.concat(chunks);
}
