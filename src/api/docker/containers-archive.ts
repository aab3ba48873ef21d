/**
 * docker cp through Docker's API, onto moat's cp routes (decided as `container.copy_from` and
 * `container.copy_to`): `HEAD /containers/{id}/archive?path=` (what the path is, in the
 * `X-Docker-Container-Path-Stat` header), `GET` (the path as a tar, the same header first) and
 * `PUT` (a tar extracted into an existing directory). The docker CLI does its side of the copy
 * itself (where it lands, the host's files); moat resolves the path inside the container and
 * refuses hostile entries (runtime/files/). The uploaded tar is bounded as any upload is
 * (service-limits.ts).
 */
import { ApiError } from '../errors.js';
import { limitsWith, guardUpload } from '../service-limits.js';
import { enc, flag, type Handler } from './handler.js';
import { sink } from './stream.js';

export const STAT_HEADER = 'X-Docker-Container-Path-Stat';

/**
 * Is this docker cp's upload (`PUT .../containers/{id}/archive`)? Its body is a tar that the
 * docker CLI sends without a content type: the service must leave it unread for the route.
 */
export function isArchiveUpload(method: string | undefined, pathname: string): boolean {
  return method === 'PUT' && /^(?:\/v1\.\d+)?\/containers\/[^/]+\/archive$/.test(pathname);
}

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** The `path` query: required; a relative one is from the container's root, as Docker takes it. */
function pathOf(url: URL): string {
  const p = url.searchParams.get('path');
  if (!p)
    throw new ApiError('API_INVALID_REQUEST', 'the path query parameter is required', {
      hint: 'e.g. ?path=/etc/hosts',
    });
  return p.startsWith('/') ? p : `/${p}`;
}

/** Docker's header: the stat as base64 JSON. */
export function statHeader(s: PathStat): string {
  return Buffer.from(
    JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget }),
  ).toString('base64');
}

/** HEAD and GET (the router serves HEAD as GET): the stat, then for GET the tar. */
export const getArchive: Handler = async ({ call, m, req, res, url }) => {
  const path = pathOf(url);
  const route = `/containers/${enc(m[1])}/archive`;
  const { stat } = (await call('GET', route, { path, statOnly: true })) as { stat: PathStat };
  if (req.method === 'HEAD') {
    res.writeHead(200, { [STAT_HEADER]: statHeader(stat) }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-tar', [STAT_HEADER]: statHeader(stat) });
  await call('GET', route, { path }, { stdout: res, stderr: sink() });
  res.end();
};

/** PUT: a tar into an existing directory (Docker never overwrites a directory with a file here either). */
export const putArchive: Handler = async ({ call, m, req, res, url, ctx }) => {
  const path = pathOf(url);
  const upload = guardUpload(req, limitsWith(ctx.options.limits), ctx.options.storage);
  // Its failure is asked for below (a denied copy never reads it: the client's close is no error).
  upload.stream.on('error', () => {});
  try {
    await call(
      'POST',
      `/containers/${enc(m[1])}/archive`,
      { path, archiveOwners: flag(url.searchParams.get('copyUIDGID')) },
      { stdin: upload.stream, stdout: sink(), stderr: sink() },
    );
  } catch (e) {
    throw upload.failure() ?? e;
  }
  res.writeHead(200).end();
};
