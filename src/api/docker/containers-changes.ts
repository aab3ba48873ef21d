/**
 * `GET /containers/{id}/changes` (docker diff), onto moat's `container.diff`: the container's
 * layer against its image, `[{Path, Kind}]` with Docker's kinds (0 changed, 1 added, 2 deleted).
 */
import { sendJson } from '../http.js';
import { enc, type Handler } from './handler.js';

export const containerChanges: Handler = async ({ call, m, res }) => {
  const changes = await call('GET', `/containers/${enc(m[1])}/changes`);
  sendJson(res, 200, changes);
};
