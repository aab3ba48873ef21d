/**
 * `GET /containers/{id}/logs` (docker logs): the query as Docker defines it, onto moat's
 * `container.logs` route, the lines framed as Docker's multiplexed stream. The response ends only
 * after its last frame (stream.ts); a client that goes away stops the reading.
 */
import type { ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';
import type { Call } from './call.js';
import { framed, gone, sink } from './stream.js';

const CONTENT_TYPE = 'application/vnd.docker.multiplexed-stream';
const flag = (v: string | null): boolean => v !== null && v !== '0' && v !== 'false' && v !== '';

export interface LogsBody {
  follow: boolean;
  timestamps: boolean;
  tail?: number;
  since?: number;
  until?: number;
}

/** Docker's logs query: follow, timestamps, tail (a number, else every line), since/until. */
export function logsBody(q: URLSearchParams): LogsBody {
  const tail = q.get('tail');
  const body: LogsBody = {
    follow: flag(q.get('follow')),
    timestamps: flag(q.get('timestamps')),
    // Docker reads anything but a number ("all", "") as every line.
    ...(tail && /^\d+$/.test(tail) ? { tail: Number(tail) } : {}),
  };
  // Unix seconds, as the docker CLI sends them (`--since 10m` becomes `1700000000.000000000`).
  for (const k of ['since', 'until'] as const) {
    const v = q.get(k);
    if (v === null || v === '' || v === '0') continue;
    if (!/^\d{1,12}(\.\d{1,9})?$/.test(v))
      throw new ApiError('API_INVALID_REQUEST', `invalid ${k} ${JSON.stringify(v.slice(0, 40))}`, {
        hint: 'a Unix time in seconds (the docker CLI turns --since 10m or a date into one)',
      });
    body[k] = Number(v);
  }
  return body;
}

/** Answer a logs request: errors before the first line are the response's status. */
export async function serveLogs(
  call: Call,
  id: string,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  // Docker: stdout and stderr are asked for by name (the CLI always names both).
  const want = (name: string) => flag(q.get(name));
  if (!want('stdout') && !want('stderr'))
    throw new ApiError('API_INVALID_REQUEST', 'choose at least one stream: stdout=1 or stderr=1', {
      hint: 'docker logs asks for both',
    });
  const body = logsBody(q);
  const f = framed(res, CONTENT_TYPE);
  try {
    await call('GET', `/containers/${encodeURIComponent(id)}/logs`, body, {
      stdout: want('stdout') ? f.stdout : sink(),
      stderr: want('stderr') ? f.stderr : sink(),
    });
  } catch (e) {
    f.stdout.destroy();
    f.stderr.destroy();
    if (!f.started()) throw e;
    res.destroy();
    return;
  }
  // The response ends only after the last queued frame was handed to it.
  await f.finish();
  if (gone(res)) return;
  if (!res.headersSent) res.writeHead(200, { 'content-type': CONTENT_TYPE });
  res.end();
}
