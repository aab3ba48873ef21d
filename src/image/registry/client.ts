/**
 * One registry, one repository: the client that composes the transport (transport/, in the
 * shape of go-containerregistry's `pkg/v1/remote/transport`) and offers the distribution API's
 * requests to pull.ts, push.ts and `moat login`. This file decides what may be sent where:
 *
 * - Scheme: transport/ping.ts (an anonymous `GET /v2/`; HTTPS first, plain HTTP only where
 *   endpoint.ts allows it, and asked first when the endpoint names its port).
 * - Auth: the `WWW-Authenticate` challenge of a 401 decides: basic (transport/basic.ts) or a
 *   bearer token (transport/bearer.ts, cached in a TokenCache shared by the process's clients
 *   unless one is given). A token just issued for the scope that is still answered
 *   `insufficient_scope` means the token service does not grant it: REGISTRY_UNAUTHORIZED
 *   without credentials, REGISTRY_DENIED with. A request is sent at most three times for
 *   authentication; after that the registry is looping (REGISTRY_AUTH_LOOP).
 * - Redirects: transport/redirect.ts. HTTP statuses and socket failures to stable codes:
 *   transport/errors.ts.
 * - Timeouts: connect (the agent, tls.ts), headers and body-idle (transport/http.ts), all from
 *   registries.json.
 */
import type { Credentials } from './auth-file.js';
import { coversScope, mergeScopes, repositoryScope, type Challenge } from './challenge.js';
import type { RegistriesConfig } from './config.js';
import { transportFor, type Target, type Transport } from './endpoint.js';
import { RegistryError } from './errors.js';
import { basicAuthorization } from './transport/basic.js';
import { bearerAuthorization, TokenCache, type BearerContext } from './transport/bearer.js';
import { httpError, unauthorized } from './transport/errors.js';
import { exchangeFor, type Exchange, type RegistryResponse } from './transport/http.js';
import { findScheme, pickChallenge, pingV2 } from './transport/ping.js';
import { follow, type FollowOptions } from './transport/redirect.js';

export type { Headers, RegistryResponse } from './transport/http.js';

export interface SendOptions extends FollowOptions {
  /** Extra scope for this request (e.g. `repository:other:pull` for a cross-repo mount). */
  scope?: string;
}

export interface ClientOptions {
  cfg: RegistriesConfig;
  target: Pick<Target, 'registry' | 'endpoint' | 'repository'>;
  actions: readonly ('pull' | 'push')[];
  tlsVerify?: boolean;
  credentials?: Credentials;
  /** Where bearer tokens are kept; default: the one cache of the process. */
  tokens?: TokenCache;
}

const MAX_AUTH_ROUNDS = 3;

const processTokens = new TokenCache();

/** Forget the bearer tokens of the process's cache (tests start each case without tokens). */
export function clearTokenCache(): void {
  processTokens.clear();
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
  private readonly exchange: Exchange;
  private readonly bearer: BearerContext;
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
    this.exchange = exchangeFor(opts.cfg, opts.target.endpoint, this.transport);
    this.bearer = {
      registry: opts.target.registry,
      creds: opts.credentials,
      tokens: opts.tokens ?? processTokens,
      exchange: this.exchange,
      httpAllowed: (host) => this.httpAllowed(host),
    };
  }

  /** `scheme://endpoint`, after {@link ping}. */
  get baseUrl(): string {
    if (!this.base) throw new Error('RegistryClient: ping() first');
    return this.base;
  }

  repoUrl(suffix: string): string {
    return `${this.baseUrl}/v2/${this.target.repository}/${suffix}`;
  }

  // Endpoint methods. pull.ts and push.ts build their requests from send() and repoUrl(); a new
  // endpoint (signatures and referrers for image trust: `GET /v2/<name>/referrers/<digest>`, the
  // `sha256-<hex>.sig` tag) goes here as a method built on send() and repoUrl(), so src/trust
  // needs nothing from transport/.

  /**
   * Find the scheme and authenticate up front (so streamed bodies are sent once); see
   * transport/ping.ts for the order in which the schemes are tried.
   */
  async ping(): Promise<void> {
    if (this.base) return;
    this.base = await findScheme(this.target.endpoint, this.transport.allowHttp, (b) => this.pingAt(b));
  }

  private async pingAt(base: string): Promise<void> {
    const ch = await pingV2(this.exchange, base, this.target.registry);
    if (!ch) return;
    this.lastChallenge = ch;
    // Pre-authenticate: bearer tokens for our scope; basic only when we have credentials.
    if (ch.scheme === 'bearer' || this.creds) this.auth = await this.authorize(ch, this.scope);
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
      const res = await follow(this.exchange, method, url, opts, used?.header, (h) => this.httpAllowed(h));
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

  /** An Authorization header value for `ch` and `scope`. */
  private async authorize(ch: Challenge, scope: string, fresh = false): Promise<Auth> {
    if (ch.scheme === 'basic')
      return { header: basicAuthorization(this.target.registry, this.creds), scope: '', fresh: false };
    if (ch.scheme !== 'bearer')
      throw new RegistryError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.target.registry} asks for unsupported authentication scheme ${ch.scheme}`,
      );
    return { ...(await bearerAuthorization(this.bearer, ch, scope, fresh)), scope };
  }

  /** Plain HTTP to `host` (a token realm, a redirect): allowed for it, or this registry's own. */
  private httpAllowed(host: string): boolean {
    return (
      transportFor(host, this.cfg).allowHttp || (this.transport.allowHttp && host === this.target.endpoint)
    );
  }
}
