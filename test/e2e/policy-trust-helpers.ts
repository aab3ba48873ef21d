/**
 * Shared by the policy-trust-*.test.ts files (issue 10): a world with its own store holding one
 * image, the default policy with chosen data, and the three clients — the CLI, moat's /v1 API and
 * the docker CLI — sending the same request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, inject } from 'vitest';
import { docker, http, startService, stopService, type Service } from './api-helpers.js';
import { uniq } from './moat.js';
import { defaultRunOptions } from '../../src/runtime/options.js';
import { world, type World } from './registry-helpers.js';

export const IMG = 'trust/base:1';

/** A world with its own store, holding the default image's root filesystem as `trust/base:1`. */
export async function trustWorld(name: string): Promise<World & { id: string; digest: string }> {
  const w = world(name);
  const imp = await w.moat(['import', path.join(inject('moatEnv').base, 'rootfs.tar'), IMG]);
  expect(imp.code, imp.stderr).toBe(0);
  const ins = await w.moat(['image', 'inspect', IMG]);
  const [rec] = JSON.parse(ins.stdout) as { id: string; manifestDigest: string }[];
  return Object.assign(w, { id: rec.id, digest: rec.manifestDigest });
}

/** The environment of `w` with the default policy and `data` (at data's root, e.g. {moat: {...}}). */
export function withData(w: World, data: unknown): NodeJS.ProcessEnv {
  const dir = path.join(w.env.HOME!, uniq('data'));
  mkdirSync(dir);
  const file = path.join(dir, 'data.json');
  writeFileSync(file, JSON.stringify(data));
  return { ...w.env, MOAT_POLICY: `${path.join(inject('moatEnv').root, 'policies')}:${file}` };
}

/** A service on its own socket in `w`, under `env` (its policy); stopped by `fn`'s end. */
export async function withService<T>(
  w: World,
  env: NodeJS.ProcessEnv,
  fn: (s: Service) => Promise<T>,
): Promise<T> {
  const s = await startService(w, env, `${uniq('s')}.sock`);
  try {
    return await fn(s);
  } finally {
    await stopService(s);
  }
}

/** `POST /v1/containers/create` with these options: status and parsed body. */
export async function v1Create(
  s: Service,
  options: Record<string, unknown>,
): Promise<{ status: number; body: { code?: string; message?: string; id?: string } }> {
  // moat's own defaults (the CLI's), then the test's options, which name the image.
  const full = { ...defaultRunOptions(''), ...options };
  const r = await http(s, 'POST', '/v1/containers/create', JSON.stringify({ options: full }));
  return { status: r.status, body: JSON.parse(r.body || '{}') as { code?: string; message?: string } };
}

export { docker, http };
