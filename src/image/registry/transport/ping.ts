/**
 * Which scheme a registry speaks and how it wants to be authenticated, found with an anonymous
 * `GET /v2/` (go-containerregistry's transport/ping.go). Nothing but that request is sent before
 * the scheme is known.
 *
 * Scheme rule (endpoint.ts says when plain HTTP is allowed at all): HTTPS first; plain HTTP only
 * when the transport allows it and HTTPS failed at the TLS level. Where plain HTTP is allowed and
 * the endpoint names its port, plain HTTP is asked first: one port speaks one protocol, so the
 * order changes nothing but the cost of the failed attempt, and a plain registry (a local
 * `docker-registry`) then needs no TLS set-up at all (parsing the CA roots alone takes ~40 ms of
 * CPU).
 */
import { parseChallenges, type Challenge } from '../challenge.js';
import { RegistryError } from '../errors.js';
import { httpError } from './errors.js';
import type { Exchange } from './http.js';

/** The challenge moat answers: bearer when offered, else basic. */
export function pickChallenge(h: string | string[] | undefined): Challenge | undefined {
  const all = parseChallenges(h);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

/**
 * `GET <base>/v2/`: undefined when the registry answers without authentication, the challenge to
 * answer when it says 401; any other answer is an error.
 */
export async function pingV2(
  exchange: Exchange,
  base: string,
  registry: string,
): Promise<Challenge | undefined> {
  const res = await exchange('GET', `${base}/v2/`, {}, undefined);
  await res.body.dump();
  if (res.status === 401) {
    const ch = pickChallenge(res.headers['www-authenticate']);
    if (!ch)
      throw new RegistryError(
        'REGISTRY_PROTOCOL_ERROR',
        `${registry} answered 401 without a usable WWW-Authenticate challenge`,
      );
    return ch;
  }
  if (res.status >= 200 && res.status < 300) return undefined;
  if (res.status === 404)
    throw new RegistryError(
      'REGISTRY_PROTOCOL_ERROR',
      `${base} does not serve the registry API (GET /v2/ → 404)`,
    );
  throw httpError(res.status, `GET ${base}/v2/`);
}

/**
 * `scheme://endpoint` of the first base `probe` succeeds at, in the order of the scheme rule.
 * `probe` pings one base (and may authenticate there); its errors decide whether the other
 * scheme is tried.
 */
export async function findScheme(
  endpoint: string,
  allowHttp: boolean,
  probe: (base: string) => Promise<void>,
): Promise<string> {
  const https = `https://${endpoint}`;
  const http = `http://${endpoint}`;
  if (allowHttp && /:\d+$/.test(endpoint)) {
    try {
      await probe(http);
      return http;
    } catch (e) {
      if (!notPlainHttp(e)) throw e;
    }
    await probe(https);
    return https;
  }
  try {
    await probe(https);
    return https;
  } catch (e) {
    if (!allowHttp || !notTls(e)) throw e;
  }
  await probe(http);
  return http;
}

/**
 * A plain HTTP request that reached a TLS port: the server closed the connection (Node), or
 * answered 400 in plain text (Go's servers, docker-registry among them: "Client sent an HTTP
 * request to an HTTPS server"), or sent bytes that are not HTTP.
 */
function notPlainHttp(e: unknown): boolean {
  const d = (e as { details?: { errno?: unknown; status?: unknown } }).details;
  if (d?.status === 400) return true;
  const c = d?.errno;
  return typeof c === 'string' && (c === 'UND_ERR_SOCKET' || c === 'ECONNRESET' || c.startsWith('HPE_'));
}

/** HTTPS failed because the other side does not speak TLS (so plain HTTP may be tried). */
function notTls(e: unknown): boolean {
  const c = (e as { details?: { errno?: unknown } }).details?.errno;
  return typeof c === 'string' && (c.startsWith('ERR_SSL_') || c === 'EPROTO' || c === 'ECONNRESET');
}
