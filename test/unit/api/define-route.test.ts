import { describe, expect, expectTypeOf, it } from 'vitest';
import { Router, defineRoute, type AnyRoute, type RouteContext } from '../../../src/api/router.js';
import type { FromSchema } from '../../../src/util/schema-type.js';
import * as S from '../../../src/api/schemas.js';
import type { RunOptions } from '../../../src/runtime/options.js';

const allow = async () => ({ allow: true, reasons: [], policy: 'test' });
const subject = { uid: 1, user: 'u', via: 'cli' as const };

const body = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1 },
    count: { type: 'integer', minimum: 0, default: 3 },
    mode: { enum: ['a', 'b'] },
    tags: { type: 'array', items: { type: 'string' } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

describe('defineRoute', () => {
  it('returns the route itself: nothing changes at run time', () => {
    const route = {
      method: 'GET' as const,
      path: '/x',
      action: 'test.x',
      body: S.empty,
      handler: async () => 'x',
    };
    expect(defineRoute(route)).toBe(route);
  });

  it("gives the handler the body the schema accepted, with the schema's defaults filled in", async () => {
    const seen: unknown[] = [];
    const route = defineRoute({
      method: 'POST',
      path: '/things',
      action: 'test.things',
      body,
      handler: async (ctx) => {
        expectTypeOf(ctx.body).toEqualTypeOf<{
          name: string;
          count: number;
          mode?: 'a' | 'b';
          tags?: string[];
          labels?: Record<string, string>;
        }>();
        seen.push(ctx.body);
        return ctx.body.count + 1;
      },
    });
    const router = new Router([route], allow);
    const res = await router.handle({ subject, method: 'POST', path: '/things', body: { name: 'n' } });
    expect(res).toBe(4);
    expect(seen).toEqual([{ name: 'n', count: 3 }]);
    const err = (await router
      .handle({ subject, method: 'POST', path: '/things', body: { name: 'n', count: 'x' } })
      .catch((e: { code: string }) => e)) as { code: string };
    expect(err.code).toBe('API_INVALID_REQUEST');
    expect(seen).toHaveLength(1);
  });

  it('checks a handler that names its own body type against the schema (compile time)', () => {
    const routes: AnyRoute[] = [
      // A body type the schema's values fit: accepted.
      defineRoute({
        method: 'POST',
        path: '/run',
        action: 'test.run',
        body: S.runBody,
        handler: async (ctx: RouteContext<{ options: RunOptions; detach?: boolean }>) => ctx.body.detach,
      }),
      defineRoute({
        method: 'POST',
        path: '/stop',
        action: 'test.stop',
        body: S.stopBody,
        // @ts-expect-error the schema's timeout is a number, not a string
        handler: async (ctx: RouteContext<{ timeout?: string }>) => ctx.body.timeout,
      }),
    ];
    expect(routes.map((r) => r.action)).toEqual(['test.run', 'test.stop']);
  });
});

describe('FromSchema', () => {
  it('maps the schema keywords moat uses to types', () => {
    expectTypeOf<keyof FromSchema<typeof S.empty>>().toEqualTypeOf<never>();
    expectTypeOf<FromSchema<typeof S.waitBody>>().toEqualTypeOf<{
      condition?: 'not-running' | 'next-exit' | 'removed';
    }>();
    expectTypeOf<FromSchema<typeof S.runBody>['options']>().toMatchTypeOf<RunOptions>();
    expectTypeOf<FromSchema<{ type: 'number' }>>().toEqualTypeOf<number>();
    expectTypeOf<FromSchema<{ oneOf: [] }>>().toEqualTypeOf<unknown>();
  });
});
