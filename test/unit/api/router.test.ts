import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  Router,
  type Decision,
  type DecisionHook,
  type DecisionInput,
  type Route,
  type RouteContext,
} from '../../../src/api/router.js';
import { allRoutes, createRouter } from '../../../src/api/all-routes.js';
import { regoHook } from '../../../src/api/policy-hook.js';
import { withPullOnMissing } from '../../../src/api/registry-routes.js';
import { containerRoutes } from '../../../src/api/routes.js';
import * as S from '../../../src/api/schemas.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { Engine } from '../../../src/runtime/engine.js';
import { ImageError } from '../../../src/image/errors.js';
import { MoatError } from '../../../src/errors.js';

/** An engine whose every method records that a handler reached it. `plan` is a fact resolver. */
function probeEngine(calls: string[]): Engine {
  const images = new Proxy(
    {},
    {
      get: (_t, p) => () => {
        calls.push(`images.${String(p)}`);
        throw new Error('handler reached the image store');
      },
    },
  );
  return new Proxy({} as Engine, {
    get: (_t, p) => {
      if (p === 'deps') return { images, host: {}, paths: {} };
      if (p === 'plan')
        return async (opts: unknown) => ({
          id: 'x',
          name: 'n',
          opts,
          image: { id: 'sha256:1', names: [] },
          spec: { process: {} },
          limits: {},
          warnings: [],
        });
      return () => {
        calls.push(String(p));
        throw new Error(`handler reached engine.${String(p)}`);
      };
    },
  });
}

/**
 * An engine on which every fact a route resolves reads as something: any property is another such
 * value, any call returns one (awaiting it gives itself), `overrides` replace chosen paths
 * (`'deps.images.resolve'`). Fact resolvers run on it as they would on a real engine; whether a
 * handler ran is told by wrapping the handlers, not by the engine.
 */
function factsEngine(overrides: Record<string, unknown> = {}): Engine {
  const make = (at: string): unknown =>
    new Proxy(function () {}, {
      get: (_t, p) => {
        if (p === 'then') return undefined; // not a promise
        if (p === Symbol.toPrimitive) return () => 'x';
        if (p === Symbol.iterator) return function* () {};
        if (p === 'toJSON') return () => ({});
        if (typeof p === 'symbol') return undefined;
        const key = at ? `${at}.${p}` : p;
        return key in overrides ? overrides[key] : make(key);
      },
      apply: () => make(`${at}()`),
    });
  return make('') as Engine;
}

/**
 * A value for a JSON schema that the router's validator accepts: required properties only, the
 * smallest arrays, strings that fit the pattern (from a few candidates). A route whose body this
 * cannot make fails the test below with API_INVALID_REQUEST: give it an entry in BODIES.
 */
function sample(schema: Record<string, unknown>): unknown {
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const k of (schema.required ?? []) as string[]) out[k] = sample(props[k] ?? {});
      return out;
    }
    case 'array': {
      const n = Number(schema.minItems ?? 0);
      return Array.from({ length: n }, () => sample((schema.items ?? {}) as Record<string, unknown>));
    }
    case 'string': {
      const min = Number(schema.minLength ?? 0);
      const re = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
      return ['x', '/x', 'x=y', 'x/y', 'a'.repeat(Math.max(min, 1))].find(
        (c) => c.length >= min && (!re || re.test(c)),
      );
    }
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return false;
    default:
      return {};
  }
}

/** Bodies the schema alone does not give, for facts to resolve (kept small: most routes need none). */
const BODIES: Record<string, unknown> = {
  'container.create': { options: defaultRunOptions('busybox') },
  'container.run': { options: defaultRunOptions('busybox') },
  'image.pull': { reference: 'registry.example.com/team/app:1' },
  'apparmor.generate': { default: true },
  'oci.create': { id: 'c1', bundle: '/x', spec: { root: { path: 'rootfs' }, process: { args: ['true'] } } },
};

/** Bodies by route where two routes share an action: the fast path's reads a bundle. */
const ociBundle = mkdtempSync(path.join(tmpdir(), 'moat-router-oci-'));
writeFileSync(
  path.join(ociBundle, 'config.json'),
  JSON.stringify((BODIES['oci.create'] as { spec: unknown }).spec),
);
afterAll(() => rmSync(ociBundle, { recursive: true, force: true }));
const ROUTE_BODIES: Record<string, unknown> = {
  'POST /oci/create-bundle': { id: 'c1', bundle: ociBundle },
};

function requestFor(r: Route) {
  const p = r.path.replace(/:[a-zA-Z]+/g, 'abc');
  const io = { stdout: new PassThrough(), stderr: new PassThrough() };
  return {
    subject: { uid: 1000, user: 'u', via: 'cli' as const },
    method: r.method,
    path: p,
    body: ROUTE_BODIES[`${r.method} ${r.path}`] ?? BODIES[r.action] ?? sample(r.body),
    io,
  };
}

const denyAll = async (): Promise<Decision> => ({
  allow: false,
  reasons: ['test denies all'],
  policy: 'test',
});

/**
 * The routes createRouter serves (pull-on-missing included), each handler wrapped so that running
 * it is recorded: `ran` lists the actions whose handler ran.
 */
function watchedRouter(engine: Engine, hook: DecisionHook) {
  const ran: string[] = [];
  const watched = allRoutes(engine).map(
    (r) =>
      ({
        ...r,
        handler: async (ctx: RouteContext<never>) => {
          ran.push(r.action);
          return r.handler(ctx);
        },
      }) as Route<never>,
  );
  const router: Router = new Router(
    withPullOnMissing(watched, (req) => router.handle(req), engine),
    hook,
  );
  return { router, ran };
}

describe('the one request path', () => {
  it('asks the decision hook before every route in the table, and a deny runs no handler', async () => {
    const seen: DecisionInput[] = [];
    const engine = factsEngine();
    const { router, ran } = watchedRouter(engine, async (input) => {
      seen.push(input);
      return denyAll();
    });
    // the table is createRouter's: a route added there is a route tested here
    const key = (r: Route) => `${r.method} ${r.path} ${r.action}`;
    expect(router.routes().map(key).sort()).toEqual(createRouter(engine, denyAll).routes().map(key).sort());
    const actions = router.routes().map((r) => r.action);
    for (const a of ['system.info', 'container.run', 'image.pull', 'registry.login', 'policy.eval'])
      expect(actions).toContain(a);
    for (const r of router.routes()) {
      const before = seen.length;
      const err = await router.handle(requestFor(r)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${r.action}: ${String(err)}`).toBeInstanceOf(MoatError);
      expect((err as MoatError).code, `${r.action}: ${(err as Error).message}`).toBe('POLICY_DENIED');
      expect(
        seen.slice(before).map((s) => s.action),
        r.action,
      ).toEqual([r.action]);
    }
    expect(ran).toEqual([]);
  });

  it('decides the pull of a missing image before pulling it (run and create)', async () => {
    const missing = 'registry.example.com/team/missing:1';
    const engine = factsEngine({
      'deps.images.resolve': async (ref: string) => {
        if (ref === missing) throw new ImageError('IMAGE_NOT_FOUND', `no such image: ${ref}`);
        return {};
      },
    });
    for (const action of ['container.run', 'container.create']) {
      const seen: string[] = [];
      const { router, ran } = watchedRouter(engine, async (input) => {
        seen.push(input.action);
        return denyAll();
      });
      const route = router.routes().find((r) => r.action === action)!;
      const err = await router
        .handle({ ...requestFor(route), body: { options: defaultRunOptions(missing) } })
        .catch((e: MoatError) => e);
      expect((err as MoatError).code).toBe('POLICY_DENIED');
      expect((err as MoatError).message).toContain('image.pull denied');
      expect(seen).toEqual(['image.pull']);
      expect(ran).toEqual([]);
    }
  });

  it('has no allow-all default: a router needs a decision hook', () => {
    expect(() => new Router([], undefined as unknown as DecisionHook)).toThrow(/decision hook/);
  });

  it('tells the transport when a request was allowed (onAllowed), never when it was denied', async () => {
    const calls: string[] = [];
    let allow = false;
    const router = new Router(containerRoutes(probeEngine(calls)), async () => ({
      allow,
      reasons: [],
      policy: 't',
    }));
    const told: string[] = [];
    const req = (tag: string) => ({
      subject: { uid: 1, user: 'u', via: 'api' as const, local: true },
      method: 'POST' as const,
      path: '/containers/abc/wait',
      body: {},
      onAllowed: () => told.push(tag),
    });
    await router.handle(req('denied')).catch(() => {});
    allow = true;
    await router.handle(req('allowed')).catch(() => {}); // the probe engine throws in the handler
    expect(told).toEqual(['allowed']);
    expect(calls).toEqual(['wait']);
  });

  it('gives the policy the spec about to run for container.run', async () => {
    const calls: string[] = [];
    let facts: Record<string, unknown> = {};
    const router = new Router(containerRoutes(probeEngine(calls)), async (input) => {
      facts = input.facts;
      return { allow: false, reasons: [], policy: 't' };
    });
    await router
      .handle({
        subject: { uid: 1, user: 'u', via: 'api' },
        method: 'POST',
        path: '/containers/run',
        body: BODIES['container.run'],
      })
      .catch(() => {});
    expect(facts).toHaveProperty('spec');
    expect(facts).toHaveProperty('image');
  });

  it('refuses bodies that fail the schema before asking the policy', async () => {
    let asked = 0;
    const router = new Router(containerRoutes(probeEngine([])), async () => {
      asked++;
      return { allow: true, reasons: [], policy: 't' };
    });
    const bad = [
      { path: '/containers/run', body: { options: { ...defaultRunOptions('x'), privileged: true } } },
      { path: '/containers/run', body: { options: { ...defaultRunOptions('x'), memory: -1 } } },
      { path: '/containers/abc/exec', body: { cmd: [] } },
      { path: '/containers/abc/kill', body: { signal: 'KILL; rm -rf /' } },
    ];
    for (const b of bad) {
      const err = await router
        .handle({ subject: { uid: 1, user: 'u', via: 'cli' }, method: 'POST', path: b.path, body: b.body })
        .catch((e: MoatError) => e);
      expect((err as MoatError).code).toBe('API_INVALID_REQUEST');
    }
    expect(asked).toBe(0);
  });

  it('fails closed when the policy throws, and reports unknown endpoints', async () => {
    const router = new Router(containerRoutes(probeEngine([])), async () => {
      throw new Error('boom');
    });
    const e1 = await router
      .handle({ subject: { uid: 1, user: 'u', via: 'cli' }, method: 'GET', path: '/containers' })
      .catch((e: MoatError) => e);
    expect((e1 as MoatError).code).toBe('POLICY_ERROR');
    const e2 = await router
      .handle({ subject: { uid: 1, user: 'u', via: 'cli' }, method: 'GET', path: '/nope' })
      .catch((e: MoatError) => e);
    expect((e2 as MoatError).code).toBe('API_NOT_FOUND');
  });
});

describe('a decision that runs out of budget', () => {
  let dir: string;
  const saved = { ...process.env };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'moat-budget-'));
    // the compile cache goes to the test's own directory; the default limits hold
    process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
    delete process.env.MOAT_POLICY_MAX_STEPS;
    delete process.env.MOAT_POLICY_TIMEOUT_MS;
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1

decision := {"allow": allow, "deny": deny}

default allow := false

allow if input.action == "test.ok"

# 10M elements: charged before the array is made
deny contains "big range" if {
	input.action == "test.range"
	count([x | some x in numbers.range(1, 10000000)]) > 0
}

# 9M iterations: cut off after the first million steps
deny contains "loop" if {
	input.action == "test.loop"
	some x in numbers.range(1, 3000)
	some y in numbers.range(1, 3000)
	x + y < 0
}
`,
    );
  });
  afterAll(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('denies with POLICY_ERROR, and the router keeps answering other requests', async () => {
    const route = (action: string, p: string): Route<never> => ({
      method: 'GET',
      path: p,
      action,
      body: S.empty,
      handler: async () => ({ answered: action }),
    });
    const router = new Router(
      [route('test.range', '/range'), route('test.loop', '/loop'), route('test.ok', '/ok')],
      regoHook([dir]),
    );
    const get = (p: string) =>
      router.handle({ subject: { uid: 1, user: 'u', via: 'api', local: true }, method: 'GET', path: p });
    for (const p of ['/range', '/loop']) {
      const err = (await get(p).catch((e: MoatError) => e)) as MoatError;
      expect(err.code, p).toBe('POLICY_ERROR');
      expect(err.message, p).toMatch(
        /exceeded its budget of 1000000 steps|exceeded its time limit of 100 ms/,
      );
    }
    expect(await get('/ok')).toEqual({ answered: 'test.ok' });
  });
});
