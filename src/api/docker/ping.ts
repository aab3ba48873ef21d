/**
 * `/_ping`: the first request of every docker CLI command, answered before the route table and
 * without the router (it tells only the API version), whatever the method; `HEAD` gets no body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DOCKER_API_VERSION } from './version.js';

export function ping(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'api-version': DOCKER_API_VERSION,
    ostype: 'linux',
    'docker-experimental': 'false',
    'cache-control': 'no-cache, no-store, must-revalidate',
  });
  res.end(req.method === 'HEAD' ? undefined : 'OK');
}
