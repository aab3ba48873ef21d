/**
 * Values of top-level query expressions, as `opa eval` reports them (OPA's
 * rewriteQueryToCaptureValue): a term or a call written without its output argument yields its
 * value; `=`, `:=`, `not`, `some`, `every` and calls with an output argument yield true. A captured
 * `false` is a result of its own only in a one-expression query without iteration.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyEval } from '../../../src/policy/cli.js';
import { PolicyEngine } from '../../../src/policy/index.js';

const engine = new PolicyEngine([{ file: 'p.rego', text: 'package p\nf(x) := x * 2\nno := false\n' }]);
const input = { x: 1, xs: [1, false, 2], f: false };
const values = (q: string): unknown[][] =>
  engine.eval(q, input).map((r) => r.expressions.map((e) => e.value));

describe('query expression values', () => {
  it.each([
    ['input.x + 1', [[2]]],
    ['count(input.xs)', [[3]]],
    ['x := 1; x + 1', [[true, 2]]],
    ['data.p.f(input.x)', [[2]]],
    ['input.x == 1', [[true]]],
    ['input.x == 2', [[false]]],
    ['input.f', [[false]]],
    ['data.p.no', [[false]]],
    ['input.x = 1', [[true]]],
    ['plus(1, 2, y)', [[true]]],
    ['not input.f', [[true]]],
    ['input.x + 1 with input.x as 5', [[6]]],
    ['input.xs[_]', [[1], [2]]],
  ])('%s', (q, want) => {
    expect(values(q)).toEqual(want);
  });

  it('a false value is undefined when the query has several expressions', () => {
    expect(values('input.f; true')).toEqual([]);
    expect(values('x := 1; x == 2')).toEqual([]);
  });

  it('keeps bindings beside captured values', () => {
    expect(engine.eval('x := 1; x + 1', input)[0].bindings).toEqual({ x: 1 });
  });

  it('a ref of constant keys (one value or none): the whole result, as for any query', () => {
    const e = new PolicyEngine([
      {
        file: 'q.rego',
        text: 'package q\nno := false\ns := {"b", "a"}\nbig := 12345678901234567890\nobj := {"k": [1, {"z": s}]}\n',
      },
    ]);
    const result = (q: string, inp?: unknown, bigints = false) => e.prepare(q).eval(inp, { bigints });
    const one = (text: string, value: unknown) => [
      { expressions: [{ value, text, location: { row: 1, col: 1 } }], bindings: {} },
    ];
    expect(result('data.q.no')).toEqual(one('data.q.no', false));
    expect(result('data.q.s')).toEqual(one('data.q.s', ['a', 'b']));
    expect(result('data.q.obj')).toEqual(one('data.q.obj', { k: [1, { z: ['a', 'b'] }] }));
    expect(result('data.q.obj.k[0]')).toEqual(one('data.q.obj.k[0]', 1));
    expect(result('data.q.big', undefined, true)).toEqual(one('data.q.big', 12345678901234567890n));
    expect(result('data.q.nope')).toEqual([]);
    expect(result('data.q.s.c')).toEqual([]);
    expect(result('input.a.b', { a: { b: [1] } })).toEqual(one('input.a.b', [1]));
    expect(result('input.a.b')).toEqual([]);
    expect(result('input.a.b', { a: 1 })).toEqual([]);
    expect(result('data.q')).toEqual(
      one('data.q', {
        no: false,
        s: ['a', 'b'],
        big: 12345678901234567000,
        obj: { k: [1, { z: ['a', 'b'] }] },
      }),
    );
  });
});

describe('moat policy eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-query-'));
  writeFileSync(join(dir, 'in.json'), '{"x": 1}');
  const run = (query: string, format: 'json' | 'pretty' = 'pretty') =>
    policyEval({ data: [], input: join(dir, 'in.json'), query, format, v0Compatible: false });

  it('prints the value of an arithmetic expression', async () => {
    expect((await run('input.x + 1')).stdout).toBe('2\n');
    const json = JSON.parse((await run('input.x + 1', 'json')).stdout);
    expect(json.result[0].expressions[0]).toMatchObject({ value: 2, text: 'input.x + 1' });
  });
  it('prints false for a failed comparison, like opa', async () => {
    expect((await run('input.x == 2')).stdout).toBe('false\n');
  });
  it('prints bindings and non-boolean expression values', async () => {
    expect(JSON.parse((await run('x := 1; x + 1')).stdout)).toEqual({ x: 1, 'x + 1': 2 });
  });
});
