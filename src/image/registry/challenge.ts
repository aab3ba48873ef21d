/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 *
 *   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
 *   Basic realm="Registry Realm"
 *
 * Pure: a header value in, a list of challenges out. Quoted strings may hold commas and escaped
 * quotes; parameter names are case-insensitive.
 */

export interface Challenge {
  /** Lowercased: `basic`, `bearer`, ... */
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const v of values) out.push(...parseOne(v));
  return out;
}

function parseOne(input: string): Challenge[] {
  const out: Challenge[] = [];
  let s = input.trim();
  let current: Challenge | undefined;
  // Bounded: every iteration consumes at least one character or stops.
  for (let guard = 0; s.length > 0 && guard < 10_000; guard++) {
    s = s.replace(/^[\s,]+/, '');
    if (s === '') break;
    const m = TOKEN.exec(s);
    if (!m) break; // garbage: keep what was parsed
    const word = m[0];
    const after = s.slice(word.length);
    const eq = /^\s*=\s*/.exec(after);
    if (eq && current && !/^\s*=\s*=/.test(after)) {
      // A parameter of the current challenge.
      let rest = after.slice(eq[0].length);
      let value = '';
      if (rest.startsWith('"')) {
        let i = 1;
        for (; i < rest.length && rest[i] !== '"'; i++) {
          if (rest[i] === '\\' && i + 1 < rest.length) i++;
          value += rest[i];
        }
        rest = rest.slice(Math.min(i + 1, rest.length));
      } else {
        const tm = /^[^\s,]*/.exec(rest)!;
        value = tm[0];
        rest = rest.slice(value.length);
      }
      current.params[word.toLowerCase()] = value;
      s = rest;
      continue;
    }
    // A new scheme (token68 credentials after it are ignored: registries do not send them).
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
    s = after;
  }
  return out;
}

/** The scope string a bearer token is asked for: `repository:NAME:pull,push` ('' for no actions). */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return actions.length ? `repository:${repository}:${[...actions].join(',')}` : '';
}

/** Whether the scopes of `held` include every action `wanted` names. */
export function coversScope(held: string, wanted: string): boolean {
  return mergeScopes(held, wanted) === mergeScopes(held);
}

/**
 * Merge scope strings (space-separated lists of `type:name:actions`) so one token covers all of
 * them: actions of the same resource are unioned, order kept stable.
 */
export function mergeScopes(...scopes: (string | undefined)[]): string {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    for (const item of (s ?? '').split(' ').filter(Boolean)) {
      const colon = item.lastIndexOf(':');
      if (colon <= 0) continue;
      const resource = item.slice(0, colon);
      const set = byResource.get(resource) ?? new Set<string>();
      for (const a of item
        .slice(colon + 1)
        .split(',')
        .filter(Boolean))
        set.add(a);
      byResource.set(resource, set);
    }
  }
  return [...byResource]
    .filter(([, a]) => a.size > 0)
    .map(([r, a]) => `${r}:${[...a].join(',')}`)
    .join(' ');
}
