/** `GET /version` (docker version): moat's version and the API versions it speaks. */
import { release } from 'node:os';
import { sendJson } from '../http.js';
import type { Handler } from './handler.js';
import { dockerArch } from './platform.js';

export const DOCKER_API_VERSION = '1.41';
const MIN_API_VERSION = '1.24';

export const systemVersion: Handler = async ({ call, res, ctx }) => {
  await call('GET', '/info'); // decided like any request
  const details = {
    ApiVersion: DOCKER_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
    Arch: dockerArch(),
    KernelVersion: release(),
  };
  sendJson(res, 200, {
    Platform: { Name: 'moat' },
    Components: [{ Name: 'Engine', Version: ctx.options.version, Details: details }],
    Version: ctx.options.version,
    ...details,
    GitCommit: '',
    GoVersion: '',
    BuildTime: '',
  });
};
