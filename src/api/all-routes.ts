import type { Engine } from '../runtime/engine.js';
import { imageRoutes } from './image-routes.js';
import { Router, type DecisionHook, type DecisionLogger, type Route } from './router.js';
import { containerRoutes } from './routes.js';
import { policyRoutes } from './policy-routes.js';

/** Every route moat serves, for the CLI and the HTTP API alike. */
export function allRoutes(engine: Engine): Route<never>[] {
  return [...containerRoutes(engine), ...imageRoutes(engine), ...policyRoutes()];
}

export function createRouter(engine: Engine, hook?: DecisionHook, log?: DecisionLogger): Router {
  return new Router(allRoutes(engine), hook, log);
}

/** Register every route's body validator (used by the build step that precompiles them). */
export function registerValidators(): void {
  createRouter({ deps: {} } as Engine);
}
