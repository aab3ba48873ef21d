/**
 * restart through the one router: decided as container.restart (with start's facts), then the
 * container is stopped and started by a request of its own, decided as container.start — so a
 * policy that refuses the start refuses it for a restart too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifecycleRoutes } from '../../../src/api/lifecycle-routes.js';
import { containerRoutes } from '../../../src/api/routes.js';
import { Router, type ApiRequest, type DecisionInput } from '../../../src/api/router.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { Engine } from '../../../src/runtime/engine.js';

function setup(deny: (i: DecisionInput) => string | undefined, rm = false) {
  const calls: string[] = [];
  const base = mkdtempSync(path.join(tmpdir(), 'moat-restart-'));
  const rec = {
    id: 'a'.repeat(64),
    name: 'web',
    image: 'moat/busybox',
    imageId: 'sha256:1',
    status: 'running',
    options: { ...defaultRunOptions('moat/busybox'), rm },
    limits: {},
    cgroups: {},
  };
  const engine = {
    containers: { resolve: async () => rec },
    deps: {
      paths: { data: base, runtime: base, storage: base, containers: base, runcRoot: base, locks: base },
      host: {},
      images: { list: async () => [] },
    },
    stop: async (id: string, t: number) => {
      calls.push(`stop ${id.slice(0, 4)} ${t}`);
      return rec;
    },
    startDetached: async (id: string) => {
      calls.push(`start ${id.slice(0, 4)}`);
      return rec;
    },
  } as unknown as Engine;
  const seen: string[] = [];
  const handle = (req: ApiRequest) => router.handle(req);
  const router: Router = new Router(
    [...containerRoutes(engine), ...lifecycleRoutes(engine, handle)],
    async (i) => {
      seen.push(i.action);
      const why = deny(i);
      return { allow: !why, reasons: why ? [why] : [], policy: 'test' };
    },
  );
  const restart = () =>
    router.handle({
      subject: { uid: 1000, user: 'u', via: 'cli' },
      method: 'POST',
      path: '/containers/web/restart',
      body: { timeout: 3 },
    });
  return { calls, seen, restart };
}

describe('restart', () => {
  it('decided as a restart, then stopped, then started by a start request of its own', async () => {
    const t = setup(() => undefined);
    await expect(t.restart()).resolves.toMatchObject({ name: 'web' });
    expect(t.seen).toEqual(['container.restart', 'container.start']);
    expect(t.calls).toEqual(['stop aaaa 3', 'start aaaa']);
  });

  it('a policy refusing restart: nothing happens', async () => {
    const t = setup((i) => (i.action === 'container.restart' ? 'no restarts' : undefined));
    await expect(t.restart()).rejects.toMatchObject({ code: 'POLICY_DENIED' });
    expect(t.calls).toEqual([]);
  });

  it('a policy refusing the start: refused as a start would be, after the stop, and said so', async () => {
    const t = setup((i) => (i.action === 'container.start' ? 'this image may not start' : undefined));
    await expect(t.restart()).rejects.toMatchObject({
      code: 'POLICY_DENIED',
      message: expect.stringMatching(
        /^web was stopped; its start failed: container.start denied by test: this image may not start/,
      ),
    });
    expect(t.calls).toEqual(['stop aaaa 3']);
  });

  it('a container run with --rm is not restarted (stopping it would remove it)', async () => {
    const t = setup(() => undefined, true);
    await expect(t.restart()).rejects.toMatchObject({ code: 'RUNTIME_INVALID_STATE' });
    expect(t.calls).toEqual([]);
  });
});
