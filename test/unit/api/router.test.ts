import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { Router, type DecisionInput, type Route } from '../../../src/api/router.js';
import { containerRoutes } from '../../../src/api/routes.js';
import { imageRoutes } from '../../../src/api/image-routes.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { Engine } from '../../../src/runtime/engine.js';
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

const BODIES: Record<string, unknown> = {
  'container.create': { options: defaultRunOptions('busybox') },
  'container.run': { options: defaultRunOptions('busybox') },
  'container.exec': { cmd: ['true'] },
  'image.load': { file: '/x.tar' },
  'image.import': { file: '/x.tar', name: 'x' },
  'image.tag': { target: 'y' },
};

function requestFor(r: Route) {
  const p = r.path.replace(/:[a-zA-Z]+/g, 'abc');
  const io = { stdout: new PassThrough(), stderr: new PassThrough() };
  return {
    subject: { uid: 1000, user: 'u', via: 'cli' as const },
    method: r.method,
    path: p,
    body: BODIES[r.action] ?? {},
    io,
  };
}

describe('the one request path', () => {
  it('asks the decision hook before every route, and a deny stops the handler', async () => {
    const calls: string[] = [];
    const engine = probeEngine(calls);
    const routes = [...containerRoutes(engine), ...imageRoutes(engine)];
    expect(routes.length).toBeGreaterThanOrEqual(17);
    const seen: DecisionInput[] = [];
    const router = new Router(routes, async (input) => {
      seen.push(input);
      return { allow: false, reasons: ['test denies all'], policy: 'test' };
    });
    for (const r of router.routes()) {
      const err = await router.handle(requestFor(r)).then(
        () => undefined,
        (e: MoatError) => e,
      );
      expect(err, r.action).toBeInstanceOf(MoatError);
      expect(err!.code, r.action).toBe('POLICY_DENIED');
    }
    expect(calls).toEqual([]);
    expect(seen.map((s) => s.action).sort()).toEqual(
      router
        .routes()
        .map((r) => r.action)
        .sort(),
    );
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
