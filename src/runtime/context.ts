import { ImageStore, type DigestRecords } from '../image/store.js';
import { ensureDirs, resolvePaths } from '../util/paths.js';
import { Engine } from './engine.js';
import { detectHost } from './host.js';

/**
 * The scanner's reports, recorded per image (src/scan/record.ts): removed with the image. Loaded
 * only when an image goes or the store is checked, not by every command.
 */
function scanRecords(storage: string): DigestRecords {
  const load = async () => new (await import('../scan/record.js')).ScanRecords(storage);
  return {
    digests: async () => (await load()).digests(),
    remove: async (digest) => (await load()).remove(digest),
  };
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
    images: new ImageStore(paths.storage, { records: [scanRecords(paths.storage)] }),
  });
}
