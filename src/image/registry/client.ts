/**
 * One registry, one repository: HTTP requests of the distribution API with scheme detection,
 * authentication and redirects. undici does the HTTP; this file decides what may be sent where.
 *
 * - Scheme: `GET /v2/` over HTTPS first; plain HTTP only when the transport allows it and HTTPS
 *   failed at the TLS level (see endpoint.ts for the rule).
 * - Auth: the `WWW-Authenticate` challenge of a 401 decides. Basic: the stored credentials.
 *   Bearer: a token from the realm for the scopes needed (basic credentials sent to the realm
 *   when known; an identity token is exchanged with the OAuth2 `refresh_token` grant), cached per
 *   (realm, service, scope, user) until it expires, one request at a time per key. A token just
 *   issued for the scope that is still answered `insufficient_scope` means the token service
 *   does not grant it: REGISTRY_UNAUTHORIZED without credentials, REGISTRY_DENIED with. A request
 *   is retried at most three times for authentication; after that the registry is looping
 *   (REGISTRY_AUTH_LOOP).
 * - Redirects (blob downloads often go to object storage): at most 5; a redirect to another
 *   origin is followed WITHOUT the Authorization header; a downgrade to plain HTTP is refused
 *   unless that host's transport allows HTTP.
 * - Timeouts: connect, headers and body-idle, from registries.json.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { ImageError } from '../errors.js';
import type { Credentials } from './auth-file.js';
import { coversScope, mergeScopes, parseChallenges, repositoryScope, type Challenge } from './challenge.js';
import type { RegistriesConfig } from './config.js';
import { isLoopback, transportFor, type Target, type Transport } from './endpoint.js';
import { RegistryError } from './errors.js';
import { agentFor } from './tls.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Dispatcher.ResponseData['body'];
  url: string;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** A buffer, or a factory so the body can be sent again after an auth retry or a redirect. */
  body?: Buffer | (() => Readable);
  bodyLength?: number;
  /** Extra scope for this request (e.g. `repository:other:pull` for a cross-repo mount). */
  scope?: string;
}

export interface ClientOptions {
  cfg: RegistriesConfig;
  target: Pick<Target, 'registry' | 'endpoint' | 'repository'>;
  actions: readonly ('pull' | 'push')[];
  tlsVerify?: boolean;
  credentials?: Credentials;
}

const MAX_REDIRECTS = 5;
const MAX_AUTH_ROUNDS = 3;
const MAX_TOKEN_BYTES = 1024 * 1024;

interface CachedToken {
  header: string;
  expires: number;
}
const tokenCache = new Map<string, CachedToken>();
/** Token requests under way, by cache key: concurrent requests for one scope share one. */
const tokenInflight = new Map<string, Promise<CachedToken>>();

export function clearTokenCache(): void {
  tokenCache.clear();
}

/** The Authorization header in use, and what it was issued for. */
interface Auth {
  header: string;
  /** Bearer: the scopes asked for (basic: ''). */
  scope: string;
  /** Fetched from the token service by this client now (not from the cache). */
  fresh: boolean;
}

export class RegistryClient {
  readonly target: ClientOptions['target'];
  private readonly cfg: RegistriesConfig;
  private readonly transport: Transport;
  private readonly creds?: Credentials;
  private base?: string;
  private scope: string;
  private auth?: Auth;
  private lastChallenge?: Challenge;

  constructor(opts: ClientOptions) {
    this.cfg = opts.cfg;
    this.target = opts.target;
    this.transport = transportFor(opts.target.registry, opts.cfg, opts.tlsVerify);
    this.creds = opts.credentials;
    this.scope = repositoryScope(opts.target.repository, opts.actions);
  }

  /** `scheme://endpoint`, after {@link ping}. */
  get baseUrl(): string {
    if (!this.base) throw new Error('RegistryClient: ping() first');
    return this.base;
  }

  repoUrl(suffix: string): string {
    return `${this.baseUrl}/v2/${this.target.repository}/${suffix}`;
  }

  /**
   * Find the scheme and authenticate up front (so streamed bodies are sent once). HTTPS first,
   * then plain HTTP where allowed. Where plain HTTP is allowed and the endpoint names its port,
   * plain HTTP is asked first: one port speaks one protocol, so the order changes nothing but
   * the cost of the failed attempt, and a plain registry (a local `docker-registry`) then needs
   * no TLS set-up at all (parsing the CA roots alone takes ~40 ms of CPU). Nothing but an
   * anonymous `GET /v2/` is sent before the scheme is known.
   */
  async ping(): Promise<void> {
    if (this.base) return;
    const https = `https://${this.target.endpoint}`;
    const http = `http://${this.target.endpoint}`;
    if (this.transport.allowHttp && /:\d+$/.test(this.target.endpoint)) {
      try {
        await this.pingAt(http);
        this.base = http;
        return;
      } catch (e) {
        if (!notPlainHttp(e)) throw e;
      }
      await this.pingAt(https);
      this.base = https;
      return;
    }
    try {
      await this.pingAt(https);
      this.base = https;
      return;
    } catch (e) {
      if (!this.transport.allowHttp || !notTls(e)) throw e;
    }
    await this.pingAt(http);
    this.base = http;
  }

  private async pingAt(base: string): Promise<void> {
    const res = await this.raw('GET', `${base}/v2/`, {}, undefined);
    await res.body.dump();
    if (res.status === 401) {
      const ch = pickChallenge(res.headers['www-authenticate']);
      if (!ch)
        throw new RegistryError(
          'REGISTRY_PROTOCOL_ERROR',
          `${this.target.registry} answered 401 without a usable WWW-Authenticate challenge`,
        );
      this.lastChallenge = ch;
      // Pre-authenticate: bearer tokens for our scope; basic only when we have credentials.
      if (ch.scheme === 'bearer' || this.creds) this.auth = await this.authorize(ch, this.scope);
      return;
    }
    if (res.status >= 200 && res.status < 300) return;
    if (res.status === 404)
      throw new RegistryError(
        'REGISTRY_PROTOCOL_ERROR',
        `${base} does not serve the registry API (GET /v2/ → 404)`,
      );
    throw httpError(res.status, `GET ${base}/v2/`);
  }

  /** Check the credentials work (for `moat login`): a ping must end authenticated. */
  async verifyLogin(): Promise<void> {
    await this.ping();
    if (!this.lastChallenge) return;
    const res = await this.send('GET', `${this.baseUrl}/v2/`);
    await res.body.dump();
    if (res.status !== 200) throw httpError(res.status, 'GET /v2/');
  }

  /** Send a request, answering auth challenges and following redirects. Any status is returned. */
  async send(method: string, url: string, opts: SendOptions = {}): Promise<RegistryResponse> {
    await this.ping();
    const scope = mergeScopes(this.scope, opts.scope);
    if (
      opts.scope &&
      this.lastChallenge?.scheme === 'bearer' &&
      !(this.auth && coversScope(this.auth.scope, scope))
    )
      this.auth = await this.authorize(this.lastChallenge, mergeScopes(this.auth?.scope, scope));
    for (let round = 0; ; round++) {
      const used = this.auth;
      const res = await this.follow(method, url, opts, used?.header);
      if (res.status !== 401) return res;
      await res.body.dump();
      const ch = pickChallenge(res.headers['www-authenticate']);
      if (!ch)
        throw new RegistryError(
          'REGISTRY_PROTOCOL_ERROR',
          `${method} ${url}: 401 without a usable WWW-Authenticate challenge`,
        );
      if (ch.scheme === 'basic' && used) throw unauthorized(this.target.registry, true);
      const want = mergeScopes(used?.scope, scope, ch.params.scope);
      // The token we sent already asked for everything the registry wants now.
      const covered = used !== undefined && ch.scheme === 'bearer' && coversScope(used.scope, want);
      if (covered && used.fresh && ch.params.error === 'insufficient_scope') {
        // Issued just now for this scope and still not enough: the token service does not grant it.
        if (!this.creds) throw unauthorized(this.target.registry, false);
        throw new RegistryError(
          'REGISTRY_DENIED',
          `${this.target.registry}: the token service does not grant ${want} to ${this.creds.identityToken ? 'this identity token' : this.creds.username}`,
          {
            details: { scope: want },
            hint: 'check your permissions on that repository (and that it exists)',
          },
        );
      }
      if (
        !this.creds &&
        used &&
        ch.scheme === 'bearer' &&
        ch.params.error !== 'insufficient_scope' &&
        round > 0
      )
        throw unauthorized(this.target.registry, false);
      if (round + 1 >= MAX_AUTH_ROUNDS) {
        throw new RegistryError(
          'REGISTRY_AUTH_LOOP',
          `${this.target.registry} keeps answering 401 (${round + 1} rounds) to ${method} ${new URL(url).pathname}`,
          {
            hint: 'the registry rejects the tokens it issues; check its token service and your permissions',
          },
        );
      }
      this.lastChallenge = ch;
      // Asking the cache again for a scope whose token was just refused would return that token.
      this.auth = await this.authorize(ch, want, round > 0 || covered);
    }
  }

  private async follow(
    method: string,
    url: string,
    opts: SendOptions,
    authHeader: string | undefined,
  ): Promise<RegistryResponse> {
    const origin = new URL(url).origin;
    let cur = url;
    let m = method;
    let body = opts.body;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(cur).origin === origin;
      const headers: Record<string, string> = { ...opts.headers };
      if (sameOrigin && authHeader) headers.authorization = authHeader;
      const res = await this.raw(m, cur, headers, body, opts.bodyLength);
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      await res.body.dump();
      const loc = header(res.headers, 'location');
      if (!loc)
        throw new RegistryError('REGISTRY_REDIRECT_REFUSED', `${m} ${cur}: redirect without a Location`);
      let next: URL;
      try {
        next = new URL(loc, cur);
      } catch {
        throw new RegistryError(
          'REGISTRY_REDIRECT_REFUSED',
          `${m} ${cur}: invalid redirect Location ${JSON.stringify(loc)}`,
        );
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:')
        throw new RegistryError('REGISTRY_REDIRECT_REFUSED', `refusing a redirect to ${next.protocol} URL`);
      if (
        next.protocol === 'http:' &&
        !transportFor(next.host, this.cfg).allowHttp &&
        !(this.transport.allowHttp && next.host === this.target.endpoint)
      ) {
        throw new RegistryError(
          'REGISTRY_REDIRECT_REFUSED',
          `refusing a redirect from ${new URL(cur).host} to plain HTTP at ${next.host}`,
          {
            hint: `list ${next.host} as insecure in registries.json if that is intended`,
          },
        );
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && m === 'POST')) {
        m = 'GET';
        body = undefined;
      }
      cur = next.toString();
    }
    throw new RegistryError(
      'REGISTRY_REDIRECT_REFUSED',
      `${method} ${url}: more than ${MAX_REDIRECTS} redirects`,
    );
  }

  /** One HTTP exchange, errors mapped to stable codes. */
  private async raw(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: SendOptions['body'],
    bodyLength?: number,
  ): Promise<RegistryResponse> {
    const u = new URL(url);
    const verify =
      u.host === this.target.endpoint ? this.transport.verify : transportFor(u.host, this.cfg).verify;
    const dispatcher = agentFor(u.host, verify, this.cfg);
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
        headersTimeout: this.cfg.timeouts.headersMs,
        bodyTimeout: this.cfg.timeouts.bodyIdleMs,
      });
      return { status: res.statusCode, headers: res.headers as Headers, body: res.body, url };
    } catch (e) {
      if (b && !Buffer.isBuffer(b)) b.destroy();
      throw transportError(e, `${method} ${u.host}${u.pathname}`, u.host);
    }
  }

  /** An Authorization header value for `ch` and `scope`. */
  private async authorize(ch: Challenge, scope: string, fresh = false): Promise<Auth> {
    if (ch.scheme === 'basic') {
      if (!this.creds) throw unauthorized(this.target.registry, false);
      if (this.creds.identityToken)
        throw new RegistryError(
          'REGISTRY_UNAUTHORIZED',
          `${this.target.registry} asks for basic authentication; an identity token cannot be used there`,
          { hint: `run \`moat login ${this.target.registry}\` with a user name and password` },
        );
      return {
        header: 'Basic ' + Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64'),
        scope: '',
        fresh: false,
      };
    }
    if (ch.scheme !== 'bearer')
      throw new RegistryError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.target.registry} asks for unsupported authentication scheme ${ch.scheme}`,
      );
    const realm = ch.params.realm;
    if (!realm)
      throw new RegistryError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.target.registry}: bearer challenge without a realm`,
      );
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new RegistryError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.target.registry}: invalid token realm ${JSON.stringify(realm)}`,
      );
    }
    if (
      realmUrl.protocol !== 'https:' &&
      !(
        realmUrl.protocol === 'http:' &&
        (transportFor(realmUrl.host, this.cfg).allowHttp ||
          (this.transport.allowHttp && realmUrl.host === this.target.endpoint))
      )
    ) {
      throw new RegistryError(
        'REGISTRY_INSECURE_REFUSED',
        `token realm ${realm} is not HTTPS; moat will not send credentials there`,
        {
          hint: `list ${realmUrl.host} as insecure in registries.json if that is intended`,
        },
      );
    }
    const who = this.creds
      ? this.creds.identityToken
        ? `<token>:${createHash('sha256').update(this.creds.identityToken).digest('hex').slice(0, 16)}`
        : this.creds.username
      : '';
    const key = `${realm}\n${ch.params.service ?? ''}\n${scope}\n${who}`;
    const cached = tokenCache.get(key);
    if (cached && !fresh && cached.expires > Date.now())
      return { header: cached.header, scope, fresh: false };
    let p = tokenInflight.get(key);
    if (!p) {
      p = this.fetchToken(realmUrl, ch.params.service, scope);
      tokenInflight.set(key, p);
      const mine = p;
      void mine.then(
        (t) => {
          tokenCache.set(key, t);
          if (tokenInflight.get(key) === mine) tokenInflight.delete(key);
        },
        () => {
          if (tokenInflight.get(key) === mine) tokenInflight.delete(key);
        },
      );
    }
    return { header: (await p).header, scope, fresh: true };
  }

  /** One request to the token service: GET with basic credentials, or the OAuth2 form POST. */
  private async fetchToken(realmUrl: URL, service: string | undefined, scope: string): Promise<CachedToken> {
    const url = new URL(realmUrl);
    const scopes = scope.split(' ').filter(Boolean);
    let res: RegistryResponse;
    if (this.creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'moat' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      form.set('refresh_token', this.creds.identityToken);
      res = await this.raw(
        'POST',
        url.toString(),
        { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        Buffer.from(form.toString()),
      );
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.creds)
        headers.authorization =
          'Basic ' + Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64');
      res = await this.raw('GET', url.toString(), headers, undefined);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body.dump();
      throw unauthorized(this.target.registry, this.creds !== undefined);
    }
    if (res.status !== 200) {
      await res.body.dump();
      throw new RegistryError('REGISTRY_PROTOCOL_ERROR', `token service ${url.host} answered ${res.status}`);
    }
    const text = (await readCapped(res, MAX_TOKEN_BYTES, 'token response')).toString('utf8');
    let token: unknown;
    let expiresIn: unknown;
    try {
      const v = JSON.parse(text) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
      token = v.token ?? v.access_token;
      expiresIn = v.expires_in;
    } catch {
      /* handled below */
    }
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
      throw new RegistryError('REGISTRY_PROTOCOL_ERROR', `token service ${url.host} sent no usable token`);
    }
    const secs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 60;
    return { header: `Bearer ${token}`, expires: Date.now() + Math.max(0, secs - 10) * 1000 };
  }
}

function pickChallenge(h: string | string[] | undefined): Challenge | undefined {
  const all = parseChallenges(h);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
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

function tooLarge(what: string, n: number, max: number): ImageError {
  return new ImageError('IMAGE_BLOB_TOO_LARGE', `${what} is larger than ${max} bytes (at least ${n})`, {
    details: { maxBytes: max, atLeast: n },
  });
}

function unauthorized(registry: string, hadCreds: boolean): RegistryError {
  return new RegistryError(
    'REGISTRY_UNAUTHORIZED',
    hadCreds ? `${registry} rejected the credentials` : `${registry} requires authentication`,
    {
      hint: hadCreds
        ? `check the user name and password; \`moat login ${registry}\` stores new ones`
        : `run \`moat login ${registry}\``,
    },
  );
}

export function httpError(status: number, what: string): RegistryError {
  if (status === 403)
    return new RegistryError('REGISTRY_DENIED', `${what}: access denied (403)`, {
      hint: 'check your permissions on that repository',
    });
  return new RegistryError('REGISTRY_HTTP_ERROR', `${what}: unexpected HTTP status ${status}`, {
    details: { status },
  });
}

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
]);

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  if (typeof c === 'string') return c;
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause && cause !== e ? codeOf(cause) : undefined;
}

/** HTTPS failed because the other side does not speak TLS (so plain HTTP may be tried). */
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

function notTls(e: unknown): boolean {
  const c = (e as { details?: { errno?: unknown } }).details?.errno;
  return typeof c === 'string' && (c.startsWith('ERR_SSL_') || c === 'EPROTO' || c === 'ECONNRESET');
}

/** Map undici and socket errors to stable codes. `inBody`: the failure came while reading a body. */
export function transportError(e: unknown, what: string, host: string, inBody = false): Error {
  if (e instanceof RegistryError || e instanceof ImageError) return e;
  const code = codeOf(e) ?? '';
  const msg = (e as Error)?.message ?? String(e);
  const details = { errno: code, host };
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return new RegistryError('REGISTRY_TIMEOUT', `${what}: ${host} timed out (${code})`, {
      cause: e,
      details,
      hint: 'the registry is slow or hanging; retry, or raise "timeouts" in registries.json',
    });
  }
  if (
    inBody &&
    (code === 'UND_ERR_SOCKET' ||
      code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
      code === 'ECONNRESET' ||
      code === 'UND_ERR_ABORTED' ||
      /terminated|closed/i.test(msg))
  ) {
    return new ImageError(
      'IMAGE_BLOB_TRUNCATED',
      `${what}: the connection to ${host} ended early (${code || msg})`,
      { cause: e, details, hint: 'retry the pull; complete blobs are kept' },
    );
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return new RegistryError(
      'REGISTRY_TLS_FAILED',
      `${what}: the certificate of ${host} does not verify (${code})`,
      {
        cause: e,
        details,
        hint: `put the registry's CA in ~/.config/moat/certs.d/${host}/ca.crt, or use --tls-verify=false${isLoopback(host) ? '' : ' (insecure)'}`,
      },
    );
  }
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO') {
    return new RegistryError('REGISTRY_TLS_FAILED', `${what}: TLS with ${host} failed (${code})`, {
      cause: e,
      details,
      hint: `if ${host} only speaks plain HTTP, list it as insecure in registries.json or use --tls-verify=false`,
    });
  }
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ECONNRESET' ||
    code === 'UND_ERR_SOCKET'
  ) {
    return new RegistryError('REGISTRY_UNREACHABLE', `${what}: cannot reach ${host} (${code})`, {
      cause: e,
      details,
    });
  }
  return new RegistryError('REGISTRY_UNREACHABLE', `${what}: ${msg}`, { cause: e, details });
}
