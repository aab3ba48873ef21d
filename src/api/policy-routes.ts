/**
 * `moat policy eval|test|check` as routes of the one request path (the policy engine is loaded
 * only when one of them runs). Paths are resolved by the CLI before the request is built.
 */
import { defineRoute, type AnyRoute } from './router.js';
import { ApiError } from './errors.js';
import { hostPath } from './host-facts.js';
import { entrypointOf, isWasmPolicy } from './policy-hook.js';
import { DEFAULTS } from './service-limits.js';

const paths = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } as const;
const common = { v0Compatible: { type: 'boolean' }, format: { enum: ['json', 'pretty'] } } as const;

export interface PolicyOutput {
  stdout: string;
  exitCode: number;
}

/**
 * `moat policy eval -d bundle.tar.gz data.moat.authz.decision`: a policy compiled with
 * `opa build -t wasm` is evaluated at the entrypoint the query names (`moat/authz/decision`).
 */
async function wasmEval(
  wasm: string[],
  body: { data: string[]; input?: string; query: string; format: 'json' | 'pretty' },
): Promise<PolicyOutput> {
  if (wasm.length > 1 || body.data.length > 1) {
    throw new ApiError('API_INVALID_REQUEST', 'a wasm policy bundle must be the only -d path', {
      hint: 'put the data into the bundle (opa build) or evaluate the Rego sources instead',
    });
  }
  if (!/^data(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(body.query)) {
    throw new ApiError(
      'API_INVALID_REQUEST',
      `a wasm bundle answers data references only, not "${body.query}"`,
      {
        hint: 'query an entrypoint, e.g. data.moat.authz.decision (built with opa build -e moat/authz/decision)',
      },
    );
  }
  const [{ WasmPolicy }, { parseDataFile }] = await Promise.all([
    import('../policy/wasm.js'),
    import('../policy/loader.js'),
  ]);
  const policy = await WasmPolicy.fromFile(wasm[0]);
  const input = body.input === undefined ? undefined : await parseDataFile(body.input);
  const rs = policy.evaluate(input, entrypointOf(body.query)).map((r) => ({
    expressions: r.expressions.map((e) => ({ ...e, text: body.query })),
    bindings: r.bindings,
  }));
  const defined = rs.filter((r) => r.expressions[0]?.value !== undefined);
  if (body.format === 'json')
    return {
      stdout: (defined.length ? JSON.stringify({ result: defined }, null, 2) : '{}') + '\n',
      exitCode: 0,
    };
  return {
    stdout: defined.length ? JSON.stringify(defined[0].expressions[0].value, null, 2) + '\n' : 'undefined\n',
    exitCode: 0,
  };
}

export function policyRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/policy/eval',
      action: 'policy.eval',
      // Every file it reads (data, input), canonical: the policy keeps them to local subjects.
      facts: async (ctx) => ({
        host_paths: [...ctx.body.data, ...(ctx.body.input === undefined ? [] : [ctx.body.input])].map((p) =>
          hostPath(p, 'read'),
        ),
      }),
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
      handler: async (ctx) => {
        const wasm = ctx.body.data.filter(isWasmPolicy);
        // The API service answers everyone from one thread: an evaluation a client asks of it is
        // bounded, and reads only regular files of bounded size (the CLI's own is not, like opa's).
        const service = ctx.req.subject.via === 'api';
        if (wasm.length && service) {
          throw new ApiError('API_INVALID_REQUEST', 'the API service does not evaluate wasm bundles', {
            hint: 'evaluate it with the moat CLI (moat policy eval -d BUNDLE): a wasm evaluation cannot be bounded in time',
          });
        }
        if (wasm.length) return wasmEval(wasm, ctx.body);
        const { policyEval } = await import('../policy/cli.js');
        return policyEval({
          ...ctx.body,
          ...(service
            ? {
                limits: { steps: Infinity, ms: DEFAULTS.policyEvalMs },
                maxFileBytes: DEFAULTS.policyFileBytes,
              }
            : {}),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/policy/test',
      action: 'policy.test',
      facts: async (ctx) => ({
        host_paths: ctx.body.paths.map((p) => hostPath(p, 'read')),
      }),
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
      handler: async (ctx) => {
        const { policyTest } = await import('../policy/cli.js');
        return policyTest(ctx.body);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/policy/check',
      action: 'policy.check',
      facts: async (ctx) => ({
        host_paths: ctx.body.paths.map((p) => hostPath(p, 'read')),
      }),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['paths', 'format', 'v0Compatible'],
        properties: { paths, ...common },
      },
      handler: async (ctx) => {
        const { policyCheck } = await import('../policy/cli.js');
        return policyCheck(ctx.body);
      },
    }),
  ];
}
