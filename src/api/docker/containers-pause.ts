/**
 * `POST /containers/{id}/pause` and `/unpause` (docker pause, unpause): onto `container.pause`
 * and `container.unpause` (runtime/freezer.ts); 204 as Docker answers.
 */
import { enc, noContent, type Handler } from './handler.js';

/** `m[2]` is the verb. */
export const pauseContainer: Handler = async ({ call, m, res }) => {
  await call('POST', `/containers/${enc(m[1])}/${m[2] === 'unpause' ? 'unpause' : 'pause'}`);
  noContent(res);
};
