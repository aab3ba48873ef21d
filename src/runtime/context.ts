import { ImageStore } from '../image/store.js';
import { ensureDirs, resolvePaths } from '../util/paths.js';
import { Engine } from './engine.js';
import { detectHost } from './host.js';

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
  return new Engine({ paths, host, images: new ImageStore(paths.storage) });
}
