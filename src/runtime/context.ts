import { ImageStore } from '../image/store.js';
import { ensureDirs, resolvePaths } from '../util/paths.js';
import { Engine } from './engine.js';
import { detectHost } from './host.js';

/** Build the engine from the environment (paths, host facts, image store). */
export function openEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  const paths = resolvePaths(env);
  ensureDirs(paths);
  const host = detectHost(env);
  return new Engine({ paths, host, images: new ImageStore(paths.storage) });
}
