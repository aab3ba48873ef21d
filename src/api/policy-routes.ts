/**
 * `moat policy eval|test|check` as routes of the one request path (the policy engine is loaded
 * only when one of them runs). Paths are resolved by the CLI before the request is built.
 */
import type { Route, RouteContext } from './router.js';

const paths = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } };
const common = { v0Compatible: { type: 'boolean' }, format: { enum: ['json', 'pretty'] } };

export interface PolicyOutput {
  stdout: string;
  exitCode: number;
}

export function policyRoutes(): Route<never>[] {
  return [
    {
      method: 'POST',
      path: '/policy/eval',
      action: 'policy.eval',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['data', 'query', 'format', 'v0Compatible'],
        properties: {
          data: { type: 'array', items: { type: 'string' } },
          input: { type: 'string' },
          query: { type: 'string', minLength: 1 },
          strictBuiltinErrors: { type: 'boolean' },
          ...common,
        },
      },
      handler: async (
        ctx: RouteContext<{
          data: string[];
          input?: string;
          query: string;
          format: 'json' | 'pretty';
          v0Compatible: boolean;
          strictBuiltinErrors?: boolean;
        }>,
      ) => {
        const { policyEval } = await import('../policy/cli.js');
        return policyEval(ctx.body);
      },
    } satisfies Route<{
      data: string[];
      query: string;
      format: 'json' | 'pretty';
      v0Compatible: boolean;
    }> as Route<never>,
    {
      method: 'POST',
      path: '/policy/test',
      action: 'policy.test',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['paths', 'verbose', 'format', 'v0Compatible'],
        properties: {
          paths,
          verbose: { type: 'boolean' },
          coverage: { type: 'boolean' },
          run: { type: 'string' },
          ...common,
        },
      },
      handler: async (
        ctx: RouteContext<{
          paths: string[];
          verbose: boolean;
          format: 'json' | 'pretty';
          v0Compatible: boolean;
          coverage?: boolean;
          run?: string;
        }>,
      ) => {
        const { policyTest } = await import('../policy/cli.js');
        return policyTest(ctx.body);
      },
    } satisfies Route<{
      paths: string[];
      verbose: boolean;
      format: 'json' | 'pretty';
      v0Compatible: boolean;
    }> as Route<never>,
    {
      method: 'POST',
      path: '/policy/check',
      action: 'policy.check',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['paths', 'format', 'v0Compatible'],
        properties: { paths, ...common },
      },
      handler: async (
        ctx: RouteContext<{ paths: string[]; format: 'json' | 'pretty'; v0Compatible: boolean }>,
      ) => {
        const { policyCheck } = await import('../policy/cli.js');
        return policyCheck(ctx.body);
      },
    } satisfies Route<{ paths: string[]; format: 'json' | 'pretty'; v0Compatible: boolean }> as Route<never>,
  ];
}
