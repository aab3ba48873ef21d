/**
 * What the list filters need that only the image store knows, asked through the router: each
 * lookup is a request of the client's subject, decided by the policy like any other.
 */
import { isMoatError } from '../../errors.js';
import type { Call } from './call.js';
import type { ImageFacts, ImageQuery, ImageRow } from './list.js';

interface Inspected {
  id: string;
  created: string;
  config?: { config?: { Labels?: Record<string, string> | null } };
}

const inspect = (call: Call, ref: string) =>
  call('GET', `/images/${encodeURIComponent(ref)}/json`) as Promise<Inspected>;

/** The IDs of the images `ancestor` values name; a name no image has adds none (Docker: no match). */
export async function imageIds(call: Call, refs: readonly string[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const ref of refs) {
    try {
      ids.add((await inspect(call, ref)).id);
    } catch (e) {
      if (isMoatError(e) && /^IMAGE_(NOT_FOUND|INVALID_REFERENCE)$/.test(e.code)) continue;
      throw e;
    }
  }
  return ids;
}

/** Labels of every image (only for a `label` filter), and the times `before`/`since` name. */
export async function imageFacts(
  call: Call,
  q: ImageQuery,
  images: readonly ImageRow[],
): Promise<ImageFacts> {
  const facts: { -readonly [K in keyof ImageFacts]: ImageFacts[K] } = {};
  if (q.filters.has('label')) {
    const labels = new Map<string, Record<string, string>>();
    for (const i of images) labels.set(i.id, (await inspect(call, i.id)).config?.config?.Labels ?? {});
    facts.labels = labels;
  }
  for (const key of ['before', 'since'] as const) {
    for (const ref of q.filters.get(key) ?? []) {
      const t = Date.parse((await inspect(call, ref)).created) || 0;
      facts[key] = key === 'before' ? Math.min(facts[key] ?? t, t) : Math.max(facts[key] ?? t, t);
    }
  }
  return facts;
}
