/**
 * `POST /containers/{id}/rename?name=` (docker rename): onto `container.rename`, whose schema
 * and rules refuse an empty, invalid or taken name; 204 as Docker answers. Docker's leading `/`
 * of a name is dropped, as Docker drops it.
 */
import { enc, noContent, type Handler } from './handler.js';

export const renameContainer: Handler = async ({ call, m, res, url }) => {
  const name = (url.searchParams.get('name') ?? '').replace(/^\//, '');
  await call('POST', `/containers/${enc(m[1])}/rename`, { name });
  noContent(res);
};
