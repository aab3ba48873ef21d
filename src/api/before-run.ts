/**
 * Work that run and create need done before their facts are read — the image pulled when it is
 * missing (registry-routes.ts), scanned when it has no report (scan-routes.ts) — wrapped around
 * those two routes' fact resolvers in one place. The step asks the same router for what it does
 * (`image.pull`, `image.scan`) as the request's own subject, so the policy decides it too.
 */
import type { AnyRoute, RouteContext } from './router.js';

/** The body run and create share (S.runBody, validated by the router before facts run). */
export type RunCtx = RouteContext<{ options: { image: string } }>;

/** Runs `step` before the facts of `container.run` and `container.create`; other routes as they are. */
export function beforeRunFacts(routes: AnyRoute[], step: (ctx: RunCtx) => Promise<void>): AnyRoute[] {
  return routes.map((route) => {
    if ((route.action !== 'container.run' && route.action !== 'container.create') || !route.facts)
      return route;
    // Given back its body type: run and create take S.runBody, which the router validated.
    const facts = route.facts as (ctx: RunCtx) => Promise<Record<string, unknown>>;
    const wrapped = async (ctx: RunCtx) => {
      await step(ctx);
      return facts(ctx);
    };
    return { ...route, facts: wrapped };
  });
}
