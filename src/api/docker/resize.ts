/**
 * `POST /containers/{id}/resize?h=&w=` and `POST /exec/{id}/resize?h=&w=`: the docker CLI's
 * window, sent when it attaches to a terminal and on each SIGWINCH. Only the terminal of an
 * attachment or exec instance the requester itself holds is resized (a container's: through its
 * monitor, which takes resizes from any attached client; an exec's: through its moat-tty), so a
 * resize acts within a console the policy already allowed. The container is named as the
 * requester may see it (container.inspect decides).
 */
import type { ContainerRecord } from '../../runtime/state.js';
import { RuntimeError } from '../../runtime/errors.js';
import { subjectOf } from '../http.js';
import { sizeOf } from './console.js';
import { enc, ownerOf, type Handler } from './handler.js';

export const resizeContainer: Handler = async ({ call, m, req, res, url, ctx }) => {
  const c = (await call('GET', `/containers/${enc(m[1])}/json`)) as ContainerRecord;
  const size = sizeOf(url.searchParams);
  if (!ctx.attachments.resize(ownerOf(subjectOf(ctx.options, req)), c.id, size))
    throw new RuntimeError(
      'RUNTIME_INVALID_STATE',
      `${c.name} has no terminal attached by you through this service to resize`,
      { hint: `attach to it first: docker attach ${c.name}` },
    );
  res.writeHead(200).end();
};

export const resizeExec: Handler = async ({ m, req, res, url, ctx }) => {
  ctx.execs.resize(subjectOf(ctx.options, req), m[1], sizeOf(url.searchParams));
  res.writeHead(200).end();
};
