/**
 * Redirects (blob downloads often go to object storage): at most 5; a redirect to another origin
 * is followed WITHOUT the Authorization header; a downgrade to plain HTTP is refused unless plain
 * HTTP is allowed to that host. 303, and 301/302 after a POST, continue as a GET without body.
 */
import { RegistryError } from '../errors.js';
import { header, type Exchange, type RegistryResponse, type RequestBody } from './http.js';

const MAX_REDIRECTS = 5;

export interface FollowOptions {
  headers?: Record<string, string>;
  body?: RequestBody;
  bodyLength?: number;
}

/**
 * Send one request and follow its redirects; the first answer that is not a redirect is returned,
 * whatever its status. `authHeader` goes to `url`'s origin only.
 */
export async function follow(
  exchange: Exchange,
  method: string,
  url: string,
  opts: FollowOptions,
  authHeader: string | undefined,
  httpAllowed: (host: string) => boolean,
): Promise<RegistryResponse> {
  const origin = new URL(url).origin;
  let cur = url;
  let m = method;
  let body = opts.body;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sameOrigin = new URL(cur).origin === origin;
    const headers: Record<string, string> = { ...opts.headers };
    if (sameOrigin && authHeader) headers.authorization = authHeader;
    const res = await exchange(m, cur, headers, body, opts.bodyLength);
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
    if (next.protocol === 'http:' && !httpAllowed(next.host)) {
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
