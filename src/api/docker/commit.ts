/**
 * `POST /commit?container=&repo=&tag=&comment=&author=&changes=` (docker commit), onto moat's
 * `container.commit`: the container's layer as a new image on top of its own. `changes` are
 * Dockerfile instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME). A config in the
 * body is refused rather than dropped (give `changes`); `pause` is not offered: nothing is paused,
 * a running container's files are read as they are.
 */
import { ApiError } from '../errors.js';
import { readJson, sendJson } from '../http.js';
import { enc, type Handler } from './handler.js';

/** Does a config body set anything? (the docker CLI sends none.) */
function setsSomething(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === false || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v).some(setsSomething);
  return true;
}

export const commitContainer: Handler = async ({ call, req, res, url }) => {
  const q = url.searchParams;
  const container = q.get('container');
  if (!container) throw new ApiError('API_INVALID_REQUEST', 'the container query parameter is required');
  const body = await readJson(req);
  if (setsSomething(body))
    throw new ApiError('API_INVALID_REQUEST', 'a config in the commit body is not supported by moat', {
      hint: 'give Dockerfile instructions as changes (docker commit --change)',
    });
  const repo = q.get('repo') ?? '';
  const tag = q.get('tag') ?? '';
  const r = (await call('POST', `/containers/${enc(container)}/commit`, {
    ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
    changes: q.getAll('changes').filter((c) => c.trim() !== ''),
    // docker commit --pause (default true): 0/false reads the container live
    pause: !['0', 'false'].includes((q.get('pause') ?? 'true').toLowerCase()),
    ...(q.get('comment') ? { message: q.get('comment')! } : {}),
    ...(q.get('author') ? { author: q.get('author')! } : {}),
  })) as { id: string };
  sendJson(res, 201, { Id: r.id });
};
