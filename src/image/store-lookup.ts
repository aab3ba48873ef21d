import { ImageError } from './errors.js';
import { localCandidates } from './reference.js';
import type { ImageRecord } from './types.js';

/** How the image store finds a record from what a user typed: names, digests and ID prefixes. */

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The repository part of a stored name (`host/path:tag` → `host/path`). */
function repoOfName(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** Resolution rules of `ImageStore.resolve()`, over a list of records. */
export function lookupImage(images: ImageRecord[], input: string): { record: ImageRecord; name?: string } {
  const full = /^(sha256:)?([a-f0-9]{64})$/.exec(input);
  if (full) {
    const d = `sha256:${full[2]}`;
    const r = images.find((i) => i.id === d) ?? images.find((i) => i.manifestDigest === d);
    if (r) return { record: r };
    if (full[1]) throw notFound(input);
  }
  const prefixed = /^sha256:([a-f0-9]{3,63})$/.exec(input);
  if (prefixed) return { record: byPrefix(images, prefixed[1], input) };
  const candidates = localCandidates(input);
  for (const c of candidates) {
    const at = c.indexOf('@');
    if (at >= 0) {
      const repo = c.slice(0, at);
      const digest = c.slice(at + 1);
      const r =
        images.find((i) => i.repoDigests?.includes(c)) ??
        images.find((i) => i.manifestDigest === digest && i.names.some((n) => repoOfName(n) === repo));
      if (r) return { record: r };
    } else {
      const r = images.find((i) => i.names.includes(c));
      if (r) return { record: r, name: c };
    }
  }
  if (/^[a-f0-9]{3,63}$/.test(input)) return { record: byPrefix(images, input, input, candidates) };
  throw notFound(input, candidates);
}

function byPrefix(images: ImageRecord[], hex: string, input: string, candidates?: string[]): ImageRecord {
  const matches = images.filter((i) => i.id.startsWith(`sha256:${hex}`));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new ImageError('IMAGE_AMBIGUOUS_ID', `${JSON.stringify(input)} matches ${matches.length} images`, {
      hint: 'give more digits of the ID',
      details: { ids: matches.map((m) => m.id) },
    });
  }
  throw notFound(input, candidates);
}

function notFound(input: string, candidates?: string[]): ImageError {
  return new ImageError('IMAGE_NOT_FOUND', `no local image matches ${JSON.stringify(input)}`, {
    hint: 'run `moat images` to list local images',
    details: { input, ...(candidates ? { tried: candidates } : {}) },
  });
}
