/**
 * A container's lifecycle through Docker's API: start, wait, stop, kill and remove (docker start,
 * wait, stop, kill, rm), each onto the router route of the same name; and attach without an
 * upgrade, refused by name. (pause, unpause, rename, update, restart, top, prune: a file each.)
 */
import { ApiError } from '../errors.js';
import { errorBody, subjectOf } from '../http.js';
import { enc, flag, noContent, ownerOf, type Handler } from './handler.js';

/**
 * docker start: detached, or, when the requester has attached to the container and waits for its
 * start (docker run, start -a: containers-attach.ts), attached with that client's streams.
 * Answered once the container runs, so that the client's resizes find its terminal.
 */
export const startContainer: Handler = async ({ call, m, req, res, ctx }) => {
  const waiting = ctx.attachments.take(ownerOf(subjectOf(ctx.options, req)), m[1]);
  let id: string;
  if (waiting) {
    await waiting.start(call);
    id = waiting.id;
  } else id = ((await call('POST', `/containers/${enc(m[1])}/start`)) as { id: string }).id;
  // Other clients waiting for it (another subject's attachment) attach to it now.
  ctx.attachments.started(id);
  noContent(res);
};

export const waitContainer: Handler = async ({ call, m, res, url }) => {
  const c = url.searchParams.get('condition');
  const body = c === 'next-exit' || c === 'removed' || c === 'not-running' ? { condition: c } : {};
  // Docker's client reads the headers before it starts the container it waits for (docker
  // run): they go out as soon as the policy allowed the wait; the result follows.
  const allowed = () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
  };
  let r: { exitCode?: number };
  try {
    r = (await call('POST', `/containers/${enc(m[1])}/wait`, body, undefined, allowed)) as {
      exitCode?: number;
    };
  } catch (e) {
    if (!res.headersSent) throw e;
    res.end(JSON.stringify({ StatusCode: 125, Error: { Message: errorBody(e).message } }));
    return;
  }
  res.end(JSON.stringify({ StatusCode: r.exitCode ?? 0, Error: null }));
};

export const stopContainer: Handler = async ({ call, m, res, url }) => {
  const t = url.searchParams.get('t');
  await call(
    'POST',
    `/containers/${enc(m[1])}/stop`,
    t !== null && /^\d+$/.test(t) ? { timeout: Number(t) } : {},
  );
  noContent(res);
};

export const killContainer: Handler = async ({ call, m, res, url }) => {
  const s = url.searchParams.get('signal');
  await call('POST', `/containers/${enc(m[1])}/kill`, s ? { signal: s.replace(/^SIG/, '') } : {});
  noContent(res);
};

export const removeContainer: Handler = async ({ call, m, res, url }) => {
  await call('DELETE', `/containers/${enc(m[1])}`, {
    force: flag(url.searchParams.get('force')),
    volumes: flag(url.searchParams.get('v')),
  });
  noContent(res);
};

/** `m[2]` is the verb; attach is offered only as an upgrade to a raw stream (containers-attach.ts). */
export const notOffered: Handler = async ({ m }) => {
  throw new ApiError(
    'API_NOT_IMPLEMENTED',
    `${m[2]} is not offered by moat's API${m[2] === 'attach' ? ' without an upgrade to a raw stream' : ''}`,
  );
};
