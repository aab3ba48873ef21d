/** How the Docker layer reaches moat: a request on the router, as the sender of the HTTP request. */
import type { ApiRequest, RequestIo } from '../router.js';

export type Call = (
  method: ApiRequest['method'],
  path: string,
  body?: unknown,
  io?: RequestIo,
  onAllowed?: () => unknown,
) => Promise<unknown>;
