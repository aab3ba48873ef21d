import * as path from 'node:path';
import { MAX_SOCKET_PATH, type MoatPaths } from '../../util/paths.js';

/**
 * Where a container's monitor listens for attaching clients (attach/server.ts): in the runtime
 * directory, which is the user's own (0700), so only the user can connect. Undefined when the
 * path would not fit in a socket address.
 */
export function attachSocketPath(paths: MoatPaths, id: string): string | undefined {
  const p = path.join(paths.runtime, 'attach', `${id.slice(0, 32)}.sock`);
  return p.length <= MAX_SOCKET_PATH ? p : undefined;
}
