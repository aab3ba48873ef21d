import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyCheck, policyEval, policyTest } from '../../../src/policy/cli.js';

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-policy-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('policyEval', () => {
  const dir = fixture({
    'p.rego': 'package app\nallow if input.user in data.app.admins\n',
    'app/data.json': '{"admins": ["alice"]}',
    'input.json': '{"user": "alice"}',
  });
  it('prints the opa eval JSON shape', async () => {
    const out = await policyEval({
      data: [dir],
      input: join(dir, 'input.json'),
      query: 'data.app.allow',
      format: 'json',
      v0Compatible: false,
    });
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      result: [
        {
          expressions: [{ value: true, text: 'data.app.allow', location: { row: 1, col: 1 } }],
          bindings: {},
        },
      ],
    });
  });
  it('prints {} when undefined', async () => {
    const out = await policyEval({
      data: [dir],
      query: 'data.app.allow',
      format: 'json',
      v0Compatible: false,
    });
    expect(out.stdout.trim()).toBe('{}');
  });
  it('includes bindings', async () => {
    const out = await policyEval({
      data: [dir],
      query: 'x := data.app.admins[_]',
      format: 'json',
      v0Compatible: false,
    });
    expect(JSON.parse(out.stdout).result[0].bindings).toEqual({ x: 'alice' });
  });
  it('reports compile errors with exit 1', async () => {
    const bad = fixture({ 'bad.rego': 'package x\np if y\n' });
    const out = await policyEval({ data: [bad], query: 'data.x.p', format: 'json', v0Compatible: false });
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout).errors[0]).toMatchObject({
      code: 'rego_unsafe_var_error',
      location: { row: 2 },
    });
  });
  it('reads v0 modules with --v0-compatible', async () => {
    const v0 = fixture({ 'old.rego': 'package old\np[x] { x := 1 }\n' });
    const out = await policyEval({ data: [v0], query: 'data.old.p', format: 'pretty', v0Compatible: true });
    expect(JSON.parse(out.stdout)).toEqual([1]);
  });
});

describe('policyTest', () => {
  it('runs test_ rules, prints PASS/FAIL and exits 1 on failure', async () => {
    const dir = fixture({
      'p.rego': 'package p\nallow if input.ok\n',
      'p_test.rego':
        'package p_test\nimport data.p\ntest_ok if p.allow with input as {"ok": true}\ntest_bad if { print("checking"); p.allow }\n',
    });
    const out = await policyTest({ paths: [dir], verbose: true, v0Compatible: false, format: 'pretty' });
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toMatch(/data\.p_test\.test_ok: PASS/);
    expect(out.stdout).toMatch(/data\.p_test\.test_bad: FAIL/);
    expect(out.stdout).toContain('checking');
    expect(out.stdout).toMatch(/PASS: 1\/2\nFAIL: 1\/2/);
  });
  it('reports rule-level coverage with --coverage', async () => {
    const dir = fixture({
      'p.rego':
        'package p\nimport rego.v1\ndefault allow := false\nallow if input.ok\ndeny contains "x" if input.bad\n',
      'p_test.rego': 'package p_test\nimport data.p\ntest_ok if p.allow with input as {"ok": true}\n',
    });
    const out = await policyTest({
      paths: [dir],
      verbose: false,
      v0Compatible: false,
      format: 'pretty',
      coverage: true,
    });
    expect(out.stdout).toMatch(/p\.rego: 1\/3 rules \(33\.3%\)\n {2}not covered: 3 allow, 5 deny/);
    const json = JSON.parse(
      (
        await policyTest({
          paths: [dir],
          verbose: false,
          v0Compatible: false,
          format: 'json',
          coverage: true,
        })
      ).stdout,
    );
    expect(json.files[join(dir, 'p.rego')]).toMatchObject({
      covered: [{ start: { row: 4 }, end: { row: 4 }, rule: 'allow' }],
      covered_rules: 1,
      not_covered_rules: 2,
    });
  });
  it('passes the shipped default policy tests', async () => {
    const out = await policyTest({
      paths: [join(import.meta.dirname, '../../../policies')],
      verbose: false,
      v0Compatible: false,
      format: 'json',
    });
    expect(out.exitCode).toBe(0);
    const results = JSON.parse(out.stdout) as { name?: string; fail?: boolean; error?: unknown }[];
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.fail || r.error)).toEqual([]);
  });
});

describe('policyCheck', () => {
  it('reports parse errors with locations', async () => {
    const dir = fixture({ 'x.rego': 'package x\np := [1,\n' });
    const out = await policyCheck({ paths: [dir], v0Compatible: false, format: 'pretty' });
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toMatch(/x\.rego:\d+:\d+: rego_parse_error: /);
  });
  it('is quiet on success', async () => {
    const dir = fixture({ 'x.rego': 'package x\np := 1\n' });
    expect(await policyCheck({ paths: [dir], v0Compatible: false, format: 'pretty' })).toEqual({
      stdout: '',
      exitCode: 0,
    });
  });
});
