import type { Engine } from '../runtime/engine.js';
import { eventRoutes } from './event-routes.js';
import { fileRoutes } from './files-routes.js';
import { imageRoutes } from './image-routes.js';
import { lifecycleRoutes } from './lifecycle-routes.js';
import {
  Router,
  denyAll,
  type AnyRoute,
  type ApiRequest,
  type DecisionHook,
  type DecisionLogger,
} from './router.js';
import { registryRoutes, withPullOnMissing } from './registry-routes.js';
import { containerRoutes } from './routes.js';
import { policyRoutes } from './policy-routes.js';
import { trustRoutes } from './trust-routes.js';
import { scanRoutes, withScanOnMissing } from './scan-routes.js';
import { volumeRoutes } from './volume-routes.js';
import { networkRoutes } from './network-routes.js';
import { securityRoutes } from './security-routes.js';
import { apparmorRoutes } from './apparmor-routes.js';
import { ociRoutes } from '../oci/routes.js';
import { ociBundleRoutes } from '../oci/bundle-route.js';

/**
 * Every route moat serves, for the CLI and the HTTP API alike. `handle`: the router itself, for
 * the routes that make a request of another (restart's start is decided as a start).
 */
export function allRoutes(engine: Engine, handle?: (req: ApiRequest) => Promise<unknown>): AnyRoute[] {
  return [
    ...containerRoutes(engine),
    ...lifecycleRoutes(engine, handle),
    ...imageRoutes(engine),
    ...policyRoutes(),
    ...registryRoutes(engine),
    ...trustRoutes(engine),
    ...scanRoutes(engine),
    ...eventRoutes(engine),
    ...fileRoutes(engine),
    ...volumeRoutes(engine),
    ...networkRoutes(engine),
    ...securityRoutes(engine),
    ...apparmorRoutes(engine),
    ...ociRoutes(),
    ...ociBundleRoutes(),
  ];
}

export function createRouter(engine: Engine, hook: DecisionHook, log?: DecisionLogger): Router {
  // run/create pull a missing image through this same router (see withPullOnMissing), then scan
  // it when it has no report under the scan setting in force (withScanOnMissing).
  const handle = (req: ApiRequest) => router.handle(req);
  const router: Router = new Router(
    withPullOnMissing(withScanOnMissing(allRoutes(engine, handle), handle, engine), handle, engine),
    hook,
    log,
  );
  return router;
}

/** Register every route's body validator (used by the build step that precompiles them). */
export function registerValidators(): void {
  createRouter({ deps: {} } as Engine, denyAll);
}
