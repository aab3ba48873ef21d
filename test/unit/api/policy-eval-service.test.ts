/**
 * `policy eval` asked of the API service (issue 10): the service answers everyone from one thread,
 * so an evaluation a client asks for is bounded in time and reads only regular files of bounded
 * size; the CLI's own evaluation (in-process, the user's command) is not bounded, like `opa eval`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { policyRoutes } from '../../../src/api/policy-routes.js';
import { Router, type Subject } from '../../../src/api/router.js';

const router = new Router(policyRoutes(), async () => ({ allow: true, reasons: [], policy: 'test' }));
const as = (via: Subject['via']): Subject => ({ uid: 1000, user: 'u', via, local: true });
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'moat-peval-'));
  writeFileSync(
    path.join(dir, 'p.rego'),
    'package p\n\nslow := count([1 | some i in numbers.range(1, 5000); some j in numbers.range(1, 5000)])\nquick := 1\n',
  );
  expect(spawnSync('mkfifo', [path.join(dir, 'in.json')]).status).toBe(0);
});

const evaluate = (via: Subject['via'], body: Record<string, unknown>) =>
  router.handle({
    subject: as(via),
    method: 'POST',
    path: '/policy/eval',
    body: { data: [path.join(dir, 'p.rego')], format: 'json', v0Compatible: false, ...body },
  }) as Promise<{ stdout: string; exitCode: number }>;

describe('policy eval through the service', () => {
  it('is cut off at its time limit (the CLI evaluates the same query to its end)', async () => {
    const t0 = Date.now();
    const out = await evaluate('api', { query: 'data.p.slow' });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toMatch(/eval_cancel_error/);
    expect((await evaluate('api', { query: 'data.p.quick' })).exitCode).toBe(0);
  });

  it('reads no FIFO (it would block the service for good), nor a device (/dev/zero never ends)', async () => {
    const fifo = await evaluate('api', { query: 'input', input: path.join(dir, 'in.json') });
    expect(fifo.exitCode).toBe(1);
    expect(fifo.stdout).toMatch(/not a regular file/);
    const zero = await evaluate('api', { query: 'input', input: '/dev/zero' });
    expect(zero.stdout).toMatch(/not a regular file/);
  });

  it('refuses wasm bundles, whose evaluation cannot be bounded', async () => {
    const wasm = path.join(dir, 'bundle.tar.gz');
    writeFileSync(wasm, '');
    await expect(evaluate('api', { query: 'data.p.quick', data: [wasm] })).rejects.toMatchObject({
      code: 'API_INVALID_REQUEST',
    });
  });
});
