/**
 * Defaults are declared once, in the route schemas (the router fills them in): the CLI's help shows
 * them and a request that leaves them out gets them, whether it comes from the CLI or the API.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram, loadParts } from '../../../src/cli/index.js';
import { Router } from '../../../src/api/router.js';
import { containerRoutes } from '../../../src/api/routes.js';
import { imageRoutes } from '../../../src/api/image-routes.js';
import * as S from '../../../src/api/schemas.js';
import type { Engine } from '../../../src/runtime/engine.js';

/** The whole command tree's parts, loaded once (buildProgram builds a fresh tree of them). */
const WHOLE = await loadParts();

const program = () => buildProgram({ exitCode: 0, json: false }, WHOLE);
const sub = (c: Command, ...names: string[]): Command =>
  names.reduce((cur, n) => cur.commands.find((x) => x.name() === n)!, c);

describe('the CLI shows the schemas’ defaults', () => {
  it('stop -t, kill -s, image prune --min-age', () => {
    const p = program();
    expect(sub(p, 'stop').helpInformation()).toMatch(/seconds to wait before killing \(default: 10\)/);
    expect(sub(p, 'kill').helpInformation()).toMatch(/signal name or number \(default: "KILL"\)/);
    expect(sub(p, 'image', 'prune').helpInformation()).toMatch(/\(default: 600\)/);
    expect(sub(p, 'stop').opts()).toEqual({ time: S.stopBody.properties.timeout.default });
    expect(sub(p, 'kill').opts()).toEqual({ signal: S.killBody.properties.signal.default });
  });

  it('--log-level', () => {
    const saved = process.env.MOAT_LOG_LEVEL;
    delete process.env.MOAT_LOG_LEVEL;
    try {
      expect(program().helpInformation()).toMatch(
        /--log-level <level>[\s\S]*\(choices: [^)]*, default: "warn"\)/,
      );
    } finally {
      if (saved !== undefined) process.env.MOAT_LOG_LEVEL = saved;
    }
  });
});

describe('a request that leaves a default out gets the schema’s', () => {
  const subject = { uid: 1, user: 'u', via: 'api' as const };
  const allow = async () => ({ allow: true, reasons: [], policy: 'test' });

  /** The routes on an engine that records its calls; facts left out (they read the engine too). */
  function router(calls: unknown[][]) {
    const rec = { id: 'c', name: 'c', status: 'exited', exitCode: 0 };
    const engine = {
      deps: {
        images: {
          list: async () => [],
          prune: async (o: unknown) => (
            calls.push(['prune', o]),
            { untagged: [], deleted: [], removedBlobs: [], freedBytes: 0, removedTemp: [] }
          ),
        },
        paths: { storage: '/nonexistent' },
      },
      containers: { list: async () => [] },
      removeStaleUnpacks: async () => [],
      stop: async (...a: unknown[]) => (calls.push(['stop', ...a]), rec),
      kill: async (...a: unknown[]) => (calls.push(['kill', ...a]), rec),
    } as unknown as Engine;
    const routes = [...containerRoutes(engine), ...imageRoutes(engine)].map((r) => ({
      ...r,
      facts: undefined,
    }));
    return new Router(routes, allow);
  }

  it('stop waits 10 seconds, kill sends KILL', async () => {
    const calls: unknown[][] = [];
    const r = router(calls);
    await r.handle({ subject, method: 'POST', path: '/containers/c/stop', body: {} });
    await r.handle({ subject, method: 'POST', path: '/containers/c/kill' });
    await r.handle({ subject, method: 'POST', path: '/containers/c/stop', body: { timeout: 0 } });
    expect(calls).toEqual([
      ['stop', 'c', 10],
      ['kill', 'c', 'KILL'],
      ['stop', 'c', 0],
    ]);
  });

  it('image prune keeps what is younger than 600 seconds', async () => {
    const calls: unknown[][] = [];
    await router(calls).handle({ subject, method: 'POST', path: '/images/prune', body: {} });
    expect(calls).toEqual([['prune', { minAgeMs: 600_000, images: 'dangling', inUse: new Set() }]]);
  });
});
