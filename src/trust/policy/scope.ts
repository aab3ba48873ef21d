/**
 * Which requirements apply to an image: the most specific scope of its transport, as
 * containers/image looks it up — the exact reference (with its tag or digest), the repository,
 * each namespace above it up to the registry host, `*.DOMAIN` wildcards from the nearest parent
 * domain outwards, the transport's default (`""`), and last the policy's `default`.
 */
import { parseReference, repositoryOf, type ImageReference } from '../../image/reference.js';
import type { ScopeMatch, TrustPolicy } from './types.js';

/** The docker-transport scopes to try for a reference, most specific first, with their kind. */
export function candidateScopes(ref: ImageReference): { scope: string; kind: ScopeMatch['kind'] }[] {
  if (!ref.host) return [];
  const repo = repositoryOf(ref);
  const out: { scope: string; kind: ScopeMatch['kind'] }[] = [];
  if (ref.digest) out.push({ scope: `${repo}@${ref.digest}`, kind: 'exact reference' });
  if (ref.tag) out.push({ scope: `${repo}:${ref.tag}`, kind: 'exact reference' });
  out.push({ scope: repo, kind: 'repository' });
  const parts = repo.split('/');
  for (let n = parts.length - 1; n >= 1; n--)
    out.push({ scope: parts.slice(0, n).join('/'), kind: 'namespace' });
  // Wildcards match the host name (without a port) below a domain: a.b.example.com is in
  // *.b.example.com and *.example.com (and *.com), never in *.a.b.example.com itself.
  const hostname = ref.host.replace(/:\d+$/, '');
  if (!hostname.startsWith('[')) {
    const labels = hostname.split('.');
    for (let i = 1; i < labels.length; i++)
      out.push({ scope: `*.${labels.slice(i).join('.')}`, kind: 'wildcard' });
  }
  return out;
}

/** The requirements for an image reference (a registry image: the docker transport). */
export function lookup(
  policy: TrustPolicy,
  reference: string | ImageReference,
  transport = 'docker',
): ScopeMatch {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const scopes = policy.transports[transport];
  if (scopes) {
    for (const c of transport === 'docker' ? candidateScopes(ref) : [])
      if (Object.hasOwn(scopes, c.scope))
        return { transport, scope: c.scope, kind: c.kind, requirements: scopes[c.scope] };
    if (Object.hasOwn(scopes, ''))
      return { transport, scope: '', kind: 'transport default', requirements: scopes[''] };
  }
  return { transport, kind: 'default', requirements: policy.default };
}
