/**
 * `POST /images/create?fromImage=...` (docker pull): one named tag or digest for this host's
 * platform (no `pull -a`, no import), onto moat's pull route, its progress as Docker's JSON lines.
 * Once the first line is out, a failure is a last line (`errorDetail`), not a status.
 */
import { ApiError } from '../errors.js';
import { errorBody } from '../http.js';
import { refuse, type Handler } from './handler.js';
import { checkPlatform } from './platform.js';
import { sink } from './stream.js';

export const pullImage: Handler = async ({ call, res, url }) => {
  const from = url.searchParams.get('fromImage');
  if (!from)
    throw new ApiError('API_INVALID_REQUEST', 'fromImage is required (moat pulls; it does not import)');
  const tag = url.searchParams.get('tag');
  // Without a tag, in the parameter or the name, Docker pulls every tag (docker pull -a).
  if (!tag && !/@|:[^/]*$/.test(from)) refuse('docker pull -a (every tag)', 'name the tag to pull');
  checkPlatform(url.searchParams.get('platform'));
  const reference = tag ? `${from}${tag.startsWith('sha256:') ? '@' : ':'}${tag}` : from;
  let started = false;
  const line = (o2: unknown) => {
    if (!started) {
      started = true;
      res.writeHead(200, { 'content-type': 'application/json' });
    }
    res.write(JSON.stringify(o2) + '\r\n');
  };
  try {
    const r = (await call(
      'POST',
      '/images/pull',
      { reference },
      {
        stdout: sink(),
        stderr: sink(),
        progress: (msg) => line({ status: msg }),
      },
    )) as { digest?: string; reference?: string };
    if (r.digest) line({ status: `Digest: ${r.digest}` });
    line({ status: `Status: Downloaded image for ${r.reference ?? reference}` });
    res.end();
  } catch (e) {
    if (!started) throw e;
    const b = errorBody(e);
    line({ errorDetail: { message: b.message }, error: b.message });
    res.end();
  }
};
