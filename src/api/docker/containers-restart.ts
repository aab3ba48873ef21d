/**
 * `POST /containers/{id}/restart?t=` (docker restart): onto `container.restart`, which stops
 * the container (the stop signal, SIGKILL after `t` seconds) and starts it again as a start of
 * its own (decided as container.start); 204 as Docker answers. `signal` is refused: the stop
 * signal is the image's, as for docker stop.
 */
import { enc, noContent, refuse, type Handler } from './handler.js';

export const restartContainer: Handler = async ({ call, m, res, url }) => {
  if (url.searchParams.get('signal'))
    refuse('--signal', "moat stops with the image's stop signal, then SIGKILL");
  const t = url.searchParams.get('t');
  await call(
    'POST',
    `/containers/${enc(m[1])}/restart`,
    t !== null && /^\d+$/.test(t) ? { timeout: Number(t) } : {},
  );
  noContent(res);
};
