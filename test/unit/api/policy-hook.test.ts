import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decisionInput, entrypointOf, isWasmPolicy, regoHook } from '../../../src/api/policy-hook.js';
import { policyRoutes } from '../../../src/api/policy-routes.js';
import type { DecisionInput } from '../../../src/api/router.js';
import { Router } from '../../../src/api/router.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { ContainerPlan } from '../../../src/runtime/engine.js';

const fixture = path.resolve(import.meta.dirname, '../policy/fixtures-wasm/authz.wasm');

function runInput(capAdd: string[]): DecisionInput {
  const opts = {
    ...defaultRunOptions('img'),
    capAdd,
    volumes: [{ host: '/etc', container: '/e', readonly: true }],
  };
  const plan = {
    id: 'x',
    name: 'n',
    opts,
    image: { id: 'sha256:1', manifestDigest: 'sha256:2', names: ['img'] },
    spec: { process: { user: { uid: 0, gid: 0 } } },
    limits: { memory: undefined },
    warnings: [],
  } as unknown as ContainerPlan;
  return {
    subject: { uid: 1000, user: 'u', via: 'cli', groups: [27] },
    method: 'POST',
    path: '/containers/run',
    action: 'container.run',
    params: {},
    body: {},
    facts: { plan, image: { ref: 'img' }, spec: plan.spec },
  };
}

describe('decision input', () => {
  it('replaces the plan with a plain run summary beside the spec', () => {
    const i = decisionInput(runInput(['CAP_NET_RAW'])) as {
      facts: Record<string, unknown>;
      subject: Record<string, unknown>;
    };
    expect(i.facts.plan).toBeUndefined();
    expect(i.facts.run).toMatchObject({
      cap_add: ['NET_RAW'],
      mounts: [{ source: '/etc', destination: '/e', readonly: true }],
      user: '0',
      network_mode: 'none',
    });
    expect(i.facts.spec).toBeDefined();
    expect(i.subject).toMatchObject({ local: true, groups: [27] });
  });
});

describe('regoHook', () => {
  it('decides with a Rego policy: allow, deny with reasons, no decision', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-hook-'));
    writeFileSync(
      path.join(dir, 'p.rego'),
      'package moat.authz\nimport rego.v1\ndeny contains sprintf("no %s", [c]) if { some c in input.facts.run.cap_add; c == "SYS_ADMIN" }\ndecision := {"allow": count(deny) == 0, "deny": deny}\n',
    );
    const hook = regoHook([dir]);
    expect(await hook(runInput(['NET_RAW']))).toMatchObject({ allow: true, reasons: [] });
    expect(await hook(runInput(['SYS_ADMIN']))).toMatchObject({ allow: false, reasons: ['no SYS_ADMIN'] });
    const other = mkdtempSync(path.join(tmpdir(), 'moat-hook-'));
    writeFileSync(path.join(other, 'p.rego'), 'package other\nx := 1\n');
    expect(await regoHook([other])(runInput([]))).toMatchObject({
      allow: false,
      reasons: ['the policy returned no decision'],
    });
  });

  it('takes an opa-built wasm bundle, and fails closed without the decision entrypoint', async () => {
    expect(isWasmPolicy('b.tar.gz') && isWasmPolicy('p.wasm') && !isWasmPolicy('p.rego')).toBe(true);
    expect(entrypointOf('data.moat.authz.decision')).toBe('moat/authz/decision');
    await expect(regoHook([fixture])(runInput([]))).rejects.toMatchObject({ code: 'POLICY_WASM_ERROR' });
  });
});

describe('moat policy eval with a wasm bundle', () => {
  it('evaluates the entrypoint the query names, in opa eval shape', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-wasm-'));
    writeFileSync(path.join(dir, 'in.json'), '{"user":"alice"}');
    // this test is about evaluation, not authorization: a hook that allows
    const router = new Router(policyRoutes(), async () => ({ allow: true, reasons: [], policy: 'test' }));
    const req = (query: string, format = 'json') => ({
      subject: { uid: 1, user: 'u', via: 'cli' as const },
      method: 'POST' as const,
      path: '/policy/eval',
      body: { data: [fixture], input: path.join(dir, 'in.json'), query, format, v0Compatible: false },
    });
    const out = (await router.handle(req('data.moat.authz.allow'))) as { stdout: string; exitCode: number };
    expect(JSON.parse(out.stdout)).toEqual({
      result: [
        {
          expressions: [{ value: true, text: 'data.moat.authz.allow', location: { row: 1, col: 1 } }],
          bindings: {},
        },
      ],
    });
    const pretty = (await router.handle(req('data.moat.authz.allow', 'pretty'))) as { stdout: string };
    expect(pretty.stdout).toBe('true\n');
    await expect(router.handle(req('1 + 1'))).rejects.toMatchObject({ code: 'API_INVALID_REQUEST' });
  });
});
