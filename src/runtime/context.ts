import { ImageStore, type DigestRecords } from '../image/store.js';
import { ensureDirs, resolvePaths } from '../util/paths.js';
import { Engine } from './engine.js';
import { detectHost } from './host.js';

/** Records kept per image, loaded only when an image goes or the store is checked. */
function lazy(kind: string, load: () => Promise<DigestRecords>): DigestRecords {
  return {
    kind,
    digests: async () => (await load()).digests(),
    remove: async (digest) => (await load()).remove(digest),
  };
}

/**
 * What moat records per image, removed with it: the scanner's reports (src/scan/record.ts) and
 * trust verifications (src/trust/record.ts). Neither room is loaded by every command.
 */
export function imageRecords(storage: string): DigestRecords[] {
  return [
    lazy('scan', async () => new (await import('../scan/record.js')).ScanRecords(storage)),
    lazy('trust', async () => new (await import('../trust/record.js')).TrustRecords(storage)),
  ];
}

/** Build the engine from the environment (paths, host facts, image store). */
export function openEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  const paths = resolvePaths(env);
  const host = detectHost(env);
  // For root, container root is the start of root's subordinate range (never host root).
  const containerRoot =
    host.uid === 0 && !('error' in host.idmaps)
      ? { uid: host.idmaps.rootUid, gid: host.idmaps.rootGid }
      : undefined;
  ensureDirs(paths, containerRoot);
  return new Engine({
    paths,
    host,
    images: new ImageStore(paths.storage, { records: imageRecords(paths.storage) }),
  });
}
