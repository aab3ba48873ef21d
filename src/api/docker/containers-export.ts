/**
 * `GET /containers/{id}/export` (docker export), onto moat's `container.export`: the container's
 * filesystem (its layer over its image, without mounts) as a tar. The headers go out once the
 * policy allowed it, so a denial is still an error status.
 */
import { enc, type Handler } from './handler.js';
import { sink } from './stream.js';

export const exportContainer: Handler = async ({ call, m, res }) => {
  await call('GET', `/containers/${enc(m[1])}/export`, {}, { stdout: res, stderr: sink() }, () =>
    res.writeHead(200, { 'content-type': 'application/x-tar' }),
  );
  res.end();
};
