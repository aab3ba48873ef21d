/**
 * `image.scan` (moat scan, moat sbom) pulls a missing image as run does (withPullOnMissing): an
 * `image.pull` request of the same subject through the router, decided before anything is
 * fetched, without unpacking; a stored image is not pulled; a short name pulled from a default
 * registry is scanned under the name it was stored as; a reference no registry serves is decided
 * as a scan and reported by the handler, after the decision, as IMAGE_NOT_FOUND with a hint.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryRoutes, withPullOnMissing } from '../../../src/api/registry-routes.js';
import { Router, type ApiRequest, type DecisionHook, type DecisionInput } from '../../../src/api/router.js';
import { scanRoutes } from '../../../src/api/scan-routes.js';
import { MoatError } from '../../../src/errors.js';
import { ImageError } from '../../../src/image/errors.js';
import type { ImageRecord } from '../../../src/image/types.js';
import type { Engine } from '../../../src/runtime/engine.js';
import { tempDir } from '../scan/helpers.js';

const subject = { uid: 7, user: 'u', via: 'api' as const, local: false };
const saved = { ...process.env };
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const t = await tempDir('moat-scan-pull-');
  cleanup = t.cleanup;
  process.env.XDG_CONFIG_HOME = t.dir;
  mkdirSync(path.join(t.dir, 'moat'));
  // short names are pullable from this default registry
  writeFileSync(
    path.join(t.dir, 'moat', 'registries.json'),
    JSON.stringify({ defaultRegistry: 'registry.example.com' }),
  );
});
afterAll(async () => {
  process.env = saved;
  await cleanup();
});

/**
 * The scan route and the pull route (its handler replaced: it "stores" what it is asked for under
 * `storedAs`) on an engine whose store knows `stored` names; the decisions are recorded, and
 * `allow` says which actions the hook admits.
 */
function world(stored: string[], allow: string[], storedAs?: (ref: string) => string) {
  const names = new Set(stored);
  const rec = (name: string) =>
    ({
      id: `sha256:${'1'.repeat(64)}`,
      manifestDigest: `sha256:${'2'.repeat(64)}`,
      names: [name],
      layers: [],
    }) as unknown as ImageRecord;
  const engine = {
    deps: {
      images: {
        root: '/nonexistent',
        resolve: async (ref: string) => {
          if (!names.has(ref)) throw new ImageError('IMAGE_NOT_FOUND', `no local image matches "${ref}"`);
          return rec(ref);
        },
      },
    },
  } as unknown as Engine;
  const pulls: ApiRequest[] = [];
  const pull = registryRoutes(engine).find((r) => r.action === 'image.pull')!;
  const fakePull = {
    ...pull,
    facts: async () => ({}),
    handler: async (ctx: { req: ApiRequest; body: { reference: string } }) => {
      pulls.push(ctx.req);
      const name = storedAs?.(ctx.body.reference) ?? ctx.body.reference;
      names.add(name);
      return { name, id: rec(name).id };
    },
  } as unknown as typeof pull;
  const scan = scanRoutes(engine).find((r) => r.action === 'image.scan')!;
  const decided: DecisionInput[] = [];
  const hook: DecisionHook = async (input) => {
    decided.push(structuredClone(input));
    const ok = allow.includes(input.action);
    return { allow: ok, reasons: ok ? [] : [`${input.action} denied`], policy: 'test' };
  };
  const router: Router = new Router(
    withPullOnMissing([fakePull, scan], (req) => router.handle(req), engine),
    hook,
  );
  const scanOf = (ref: string) =>
    router.handle({ subject, method: 'POST', path: `/images/${encodeURIComponent(ref)}/scan`, body: {} });
  return { scanOf, decided, pulls, names };
}

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as MoatError,
  );

describe('image.scan pulls a missing image, as run does', () => {
  it('a registry reference not stored: image.pull (same subject, no unpacking) is decided first', async () => {
    const ref = 'registry.example.com/team/app:1';
    const w = world([], ['image.pull']);
    const e = await fail(w.scanOf(ref));
    // the scan itself is then decided, with the pulled image's facts
    expect(e.code).toBe('POLICY_DENIED');
    expect(w.decided.map((d) => d.action)).toEqual(['image.pull', 'image.scan']);
    expect(w.decided[0]).toMatchObject({ subject, body: { reference: ref, unpack: false } });
    expect(w.decided[1]).toMatchObject({
      subject,
      params: { ref },
      facts: { image: { id: expect.any(String) } },
    });
    expect(w.pulls).toHaveLength(1);
    expect(w.names.has(ref)).toBe(true);
  });

  it('a pull the policy denies: nothing is pulled, the scan is not decided', async () => {
    const w = world([], []);
    const e = await fail(w.scanOf('registry.example.com/team/app:1'));
    expect(e.code).toBe('POLICY_DENIED');
    expect(e.message).toContain('image.pull denied');
    expect(w.decided.map((d) => d.action)).toEqual(['image.pull']);
    expect(w.pulls).toEqual([]);
  });

  it('a stored image is not pulled', async () => {
    const w = world(['registry.example.com/team/app:1'], []);
    await fail(w.scanOf('registry.example.com/team/app:1'));
    expect(w.decided.map((d) => d.action)).toEqual(['image.scan']);
  });

  it('a short name pulled from the default registry is scanned under the name it was stored as', async () => {
    const w = world([], ['image.pull'], (ref) => `registry.example.com/${ref}`);
    await fail(w.scanOf('team/app:1'));
    expect(
      w.decided.map((d) => [d.action, d.params.ref ?? (d.body as { reference: string }).reference]),
    ).toEqual([
      ['image.pull', 'team/app:1'],
      ['image.scan', 'registry.example.com/team/app:1'],
    ]);
  });

  it('neither stored nor pullable: decided as a scan, then IMAGE_NOT_FOUND with a hint', async () => {
    for (const ref of ['localhost/nothing-here:1', 'abcdef0123']) {
      const w = world([], ['image.pull', 'image.scan']);
      const e = await fail(w.scanOf(ref));
      expect(e.code, ref).toBe('IMAGE_NOT_FOUND');
      expect(e.message).toBe(`no local image matches "${ref}", and it names no registry to pull it from`);
      expect(e.hint).toMatch(/registry reference \(host\/name:tag/);
      expect(w.decided.map((d) => d.action)).toEqual(['image.scan']);
      expect(w.pulls).toEqual([]);
    }
  });
});
