/**
 * `GET /containers/{id}/top?ps_args=` (docker top): the container's processes in Docker's shape
 * `{Titles, Processes}`, onto `container.top` (moat reads /proc itself; runtime/top/ps.ts says
 * which ps options it takes).
 */
import { sendJson } from '../http.js';
import { enc, type Handler } from './handler.js';

export const topContainer: Handler = async ({ call, m, res, url }) => {
  const psArgs = url.searchParams.get('ps_args');
  sendJson(res, 200, await call('GET', `/containers/${enc(m[1])}/top`, psArgs ? { psArgs } : {}));
};
