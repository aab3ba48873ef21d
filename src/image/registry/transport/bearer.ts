/**
 * Bearer tokens (go-containerregistry's transport/bearer.go): a token from the challenge's realm
 * for the scopes needed. Basic credentials are sent to the realm when known; an identity token is
 * exchanged with the OAuth2 `refresh_token` grant. The realm must be HTTPS unless plain HTTP is
 * allowed to its host: credentials never go out in the clear.
 *
 * Tokens are kept in a TokenCache per (realm, service, scope, user) until they expire, and one
 * request at a time is made per key. The client is given its cache (one per process unless told
 * otherwise, see client.ts), so tokens are reused across clients and pulls.
 */
import { createHash } from 'node:crypto';
import type { Credentials } from '../auth-file.js';
import type { Challenge } from '../challenge.js';
import { RegistryError } from '../errors.js';
import { basicHeader } from './basic.js';
import { unauthorized } from './errors.js';
import { readCapped, type Exchange, type RegistryResponse } from './http.js';

const MAX_TOKEN_BYTES = 1024 * 1024;

export interface Token {
  /** The Authorization header value (`Bearer …`). */
  header: string;
  /** Date.now() after which the token is not used again (10 s before the service says). */
  expires: number;
}

export class TokenCache {
  private readonly tokens = new Map<string, Token>();
  /** Token requests under way, by key: concurrent requests for one scope share one. */
  private readonly inflight = new Map<string, Promise<Token>>();

  /** The cached token for `key`, while it has not expired. */
  get(key: string): Token | undefined {
    const t = this.tokens.get(key);
    return t && t.expires > Date.now() ? t : undefined;
  }

  /** The request under way for `key`, or a new one from `fetch`; its token is cached when it comes. */
  fetch(key: string, fetch: () => Promise<Token>): Promise<Token> {
    let p = this.inflight.get(key);
    if (!p) {
      p = fetch();
      this.inflight.set(key, p);
      const mine = p;
      void mine.then(
        (t) => {
          this.tokens.set(key, t);
          if (this.inflight.get(key) === mine) this.inflight.delete(key);
        },
        () => {
          if (this.inflight.get(key) === mine) this.inflight.delete(key);
        },
      );
    }
    return p;
  }

  /** Forget the cached tokens (requests under way still complete and are cached). */
  clear(): void {
    this.tokens.clear();
  }
}

/** What a bearer exchange needs from the client. */
export interface BearerContext {
  /** The registry as named in references, for messages. */
  registry: string;
  creds?: Credentials;
  tokens: TokenCache;
  exchange: Exchange;
  /** Whether plain HTTP may be used to `host` (a realm on plain HTTP needs it). */
  httpAllowed: (host: string) => boolean;
}

/**
 * The Authorization header for bearer challenge `ch` and `scope`: from the cache unless `fresh`,
 * else from the token service (`fresh` in the answer: fetched now, not taken from the cache).
 */
export async function bearerAuthorization(
  ctx: BearerContext,
  ch: Challenge,
  scope: string,
  fresh: boolean,
): Promise<{ header: string; fresh: boolean }> {
  const realm = ch.params.realm;
  if (!realm)
    throw new RegistryError('REGISTRY_PROTOCOL_ERROR', `${ctx.registry}: bearer challenge without a realm`);
  let realmUrl: URL;
  try {
    realmUrl = new URL(realm);
  } catch {
    throw new RegistryError(
      'REGISTRY_PROTOCOL_ERROR',
      `${ctx.registry}: invalid token realm ${JSON.stringify(realm)}`,
    );
  }
  if (realmUrl.protocol !== 'https:' && !(realmUrl.protocol === 'http:' && ctx.httpAllowed(realmUrl.host))) {
    throw new RegistryError(
      'REGISTRY_INSECURE_REFUSED',
      `token realm ${realm} is not HTTPS; moat will not send credentials there`,
      {
        hint: `list ${realmUrl.host} as insecure in registries.json if that is intended`,
      },
    );
  }
  const who = ctx.creds
    ? ctx.creds.identityToken
      ? `<token>:${createHash('sha256').update(ctx.creds.identityToken).digest('hex').slice(0, 16)}`
      : ctx.creds.username
    : '';
  const key = `${realm}\n${ch.params.service ?? ''}\n${scope}\n${who}`;
  const cached = fresh ? undefined : ctx.tokens.get(key);
  if (cached) return { header: cached.header, fresh: false };
  const t = await ctx.tokens.fetch(key, () => fetchToken(ctx, realmUrl, ch.params.service, scope));
  return { header: t.header, fresh: true };
}

/** One request to the token service: GET with basic credentials, or the OAuth2 form POST. */
async function fetchToken(
  ctx: BearerContext,
  realmUrl: URL,
  service: string | undefined,
  scope: string,
): Promise<Token> {
  const url = new URL(realmUrl);
  const scopes = scope.split(' ').filter(Boolean);
  let res: RegistryResponse;
  if (ctx.creds?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'moat' });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    form.set('refresh_token', ctx.creds.identityToken);
    res = await ctx.exchange(
      'POST',
      url.toString(),
      { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      Buffer.from(form.toString()),
    );
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (ctx.creds) headers.authorization = basicHeader(ctx.creds);
    res = await ctx.exchange('GET', url.toString(), headers, undefined);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body.dump();
    throw unauthorized(ctx.registry, ctx.creds !== undefined);
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
