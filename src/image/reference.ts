import { ImageError } from './errors.js';

/**
 * Image references: `[host[:port]/]path[:tag][@sha256:hex]`, with the grammar of the distribution
 * spec (github.com/distribution/reference). moat stores images under full names,
 * `host/path:tag`; the two rules below say how a short name becomes one.
 *
 * - A reference has a registry host when its first `/`-component contains `.` or `:` or is
 *   `localhost`; otherwise it is a short name and the whole string is the path.
 * - `normalizeForStore`: a short name the user gave moat (`moat import`, `moat tag`, an OCI
 *   layout annotation) is moat's own: `localhost/NAME:TAG`. A short name from a docker-save
 *   `RepoTags` meant Docker Hub: `docker.io/library/NAME:TAG` for one component,
 *   `docker.io/NAME:TAG` otherwise. The tag defaults to `latest`.
 * - `localCandidates`: a short name typed by the user may mean either, in that order.
 */

export interface ImageReference {
  /** Registry host with optional port; undefined for a short name. */
  host?: string;
  /** Repository path below the host, lowercase components joined by `/`. */
  path: string;
  tag?: string;
  /** `sha256:` + 64 hex. */
  digest?: string;
}

export type NameOrigin = 'local' | 'docker';

export const DEFAULT_TAG = 'latest';
export const LOCAL_HOST = 'localhost';
export const DOCKER_HUB = 'docker.io';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME = 255;

function invalid(input: string, why: string, hint?: string): ImageError {
  return new ImageError(
    'IMAGE_INVALID_REFERENCE',
    `invalid image reference ${JSON.stringify(input)}: ${why}`,
    {
      hint: hint ?? 'references look like [host[:port]/]name[:tag][@sha256:<64 hex>]',
      details: { reference: input },
    },
  );
}

/** True when `first` (the first `/`-component) names a registry rather than a repository. */
export function isRegistryHost(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === LOCAL_HOST;
}

export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string' || input === '') throw invalid(String(input), 'empty');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw ANY_DIGEST.test(digest) && !digest.startsWith('sha256:')
        ? invalid(input, 'unsupported digest algorithm', 'moat only supports sha256 digests')
        : invalid(input, 'malformed digest');
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `invalid tag ${JSON.stringify(tag)}`);
  }
  if (rest === '') throw invalid(input, 'missing repository name');
  if (rest.length > MAX_NAME) throw invalid(input, `name longer than ${MAX_NAME} characters`);
  const parts = rest.split('/');
  let host: string | undefined;
  if (parts.length > 1 && isRegistryHost(parts[0])) {
    host = parts.shift();
    if (!HOST.test(host!)) throw invalid(input, `invalid registry host ${JSON.stringify(host)}`);
  }
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) {
      throw /[A-Z]/.test(p) && PATH_COMPONENT.test(p.toLowerCase())
        ? invalid(input, 'repository names must be lowercase')
        : invalid(input, `invalid repository component ${JSON.stringify(p)}`);
    }
  }
  const ref: ImageReference = { path: parts.join('/') };
  if (host !== undefined) ref.host = host;
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The repository with its host, `host/path` (or just `path` for a short name). */
export function repositoryOf(ref: ImageReference): string {
  return ref.host ? `${ref.host}/${ref.path}` : ref.path;
}

export function formatReference(ref: ImageReference): string {
  return repositoryOf(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** Docker Hub has several spellings; store one. `docker.io/alpine` is `docker.io/library/alpine`. */
function canonicalHost(ref: ImageReference): ImageReference {
  if (ref.host === 'index.docker.io' || ref.host === 'registry-1.docker.io')
    ref = { ...ref, host: DOCKER_HUB };
  if (ref.host === DOCKER_HUB && !ref.path.includes('/')) ref = { ...ref, path: `library/${ref.path}` };
  return ref;
}

function qualify(ref: ImageReference, origin: NameOrigin): ImageReference {
  if (ref.host) return canonicalHost(ref);
  if (origin === 'local') return { ...ref, host: LOCAL_HOST };
  return canonicalHost({ ...ref, host: DOCKER_HUB });
}

/**
 * The full name an image is stored under: `host/path:tag`. Short names are qualified according
 * to where they came from (see the module comment). A name to store cannot carry a digest.
 */
export function normalizeForStore(input: string | ImageReference, origin: NameOrigin = 'local'): string {
  const ref = typeof input === 'string' ? parseReference(input) : input;
  const shown = typeof input === 'string' ? input : formatReference(input);
  if (ref.digest) {
    throw invalid(shown, 'a name to store cannot carry a digest', 'give a name with a tag, e.g. name:tag');
  }
  const q = qualify(ref, origin);
  return formatReference({ host: q.host, path: q.path, tag: q.tag ?? DEFAULT_TAG });
}

/**
 * The stored names a user's input may mean, most likely first:
 * - a reference with a host: exactly that, normalised (`docker.io/alpine` → `docker.io/library/alpine:latest`);
 * - a short name: `localhost/NAME:TAG`, then what Docker would mean (`docker.io/library/NAME:TAG`
 *   for one component, `docker.io/NAME:TAG` otherwise).
 * A digest reference yields `host/path@sha256:…` candidates (any tag is ignored, as Docker does).
 */
export function localCandidates(input: string): string[] {
  const ref = parseReference(input);
  const origins: NameOrigin[] = ref.host ? ['local'] : ['local', 'docker'];
  return origins.map((o) => {
    const q = qualify(ref, o);
    return ref.digest
      ? formatReference({ host: q.host, path: q.path, digest: ref.digest })
      : formatReference({ host: q.host, path: q.path, tag: q.tag ?? DEFAULT_TAG });
  });
}
