/**
 * Work that run and create need done before their facts are read — the image pulled when it is
 * missing (registry-routes.ts), scanned when it has no report (scan-routes.ts) — wrapped around
 * those two routes' fact resolvers in one place; and the same pull before `image.scan`'s facts
 * (moat scan, moat sbom). The step asks the same router for what it does (`image.pull`,
 * `image.scan`) as the request's own subject, so the policy decides it too.
 */
import type { AnyRoute, RouteContext } from './router.js';

/** The body run and create share (S.runBody, validated by the router before facts run). */
export type RunCtx = RouteContext<{ options: { image: string } }>;

/** Runs `step` before the facts of the routes whose action is one of `actions`. */
function beforeFacts<B>(
  routes: AnyRoute[],
  actions: string[],
  step: (ctx: RouteContext<B>) => Promise<void>,
): AnyRoute[] {
  return routes.map((route) => {
    if (!actions.includes(route.action) || !route.facts) return route;
    // Given back its body type: the router validated the body against the route's schema.
    const facts = route.facts as (ctx: RouteContext<B>) => Promise<Record<string, unknown>>;
    const wrapped = async (ctx: RouteContext<B>) => {
      await step(ctx);
      return facts(ctx);
    };
    return { ...route, facts: wrapped };
  });
}

/** Runs `step` before the facts of `container.run` and `container.create`; other routes as they are. */
export function beforeRunFacts(routes: AnyRoute[], step: (ctx: RunCtx) => Promise<void>): AnyRoute[] {
  return beforeFacts(routes, ['container.run', 'container.create'], step);
}

/** Runs `step` before the facts of `image.scan` (its image is `ctx.params.ref`); others as they are. */
export function beforeScanFacts(routes: AnyRoute[], step: (ctx: RouteContext) => Promise<void>): AnyRoute[] {
  return beforeFacts(routes, ['image.scan'], step);
}
