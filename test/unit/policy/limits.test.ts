import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyEngine, RegoError } from '../../../src/policy/index.js';
import { loadPolicy } from '../../../src/policy/decide.js';
import { setHotAfter } from '../../../src/policy/jit.js';
import { DEFAULT_LIMITS, limitsFromEnv } from '../../../src/policy/limits.js';

const LOOPS = `package t
import rego.v1

# 27M iterations by closures (some … in) and by the general path (refs with variable keys)
nested := count([1 | some x in numbers.range(1, 300); some y in numbers.range(1, 300); some z in numbers.range(1, 300)])
refs := count([1 | numbers.range(1, 300)[_]; numbers.range(1, 300)[_]; numbers.range(1, 300)[_]])
every_ok if every x in numbers.range(1, 3000000) { x > 0 }
big := count(numbers.range(1, 10000000))
small := count([1 | some x in numbers.range(1, 100); some y in numbers.range(1, 100)])

# a function whose body loops: generated whole (jit.ts) once hot
f(n) := count([1 | some x in numbers.range(1, n); some y in numbers.range(1, n)])
calls := [f(3000) | some _ in [1]]
`;

/** The error a query stops with (or its value). */
function run(engine: PolicyEngine, query: string, limits?: { steps?: number; ms?: number } | false): unknown {
  try {
    return engine.prepare(query).eval(undefined, { limits })[0]?.expressions[0]?.value;
  } catch (e) {
    if (e instanceof RegoError) return `${e.code}: ${e.message}`;
    throw e;
  }
}

afterEach(() => setHotAfter(100));

describe('every evaluation has a budget', () => {
  const engine = new PolicyEngine([{ file: 't.rego', text: LOOPS }]);
  const out = `eval_cancel_error: evaluation exceeded its budget of ${DEFAULT_LIMITS.steps} steps (a loop or a builtin did too much work)`;

  // the default step budget, without the clock (which may stop a loaded machine first)
  const steps = { steps: DEFAULT_LIMITS.steps, ms: Infinity };

  it('stops loops after the step budget, whatever evaluates them', () => {
    expect(run(engine, 'data.t.nested', steps)).toBe(out);
    expect(run(engine, 'data.t.refs', steps)).toBe(out);
    expect(run(engine, 'data.t.every_ok', steps)).toBe(out);
    expect(run(engine, 'data.t.calls', steps)).toBe(out);
    // generated code (jit.ts) at once
    setHotAfter(0);
    const hot = new PolicyEngine([{ file: 't.rego', text: LOOPS }]);
    expect(run(hot, 'data.t.nested', steps)).toBe(out);
    expect(run(hot, 'data.t.calls', steps)).toBe(out);
    // and with both bounds, one of them
    expect(run(engine, 'data.t.nested')).toMatch(
      /^eval_cancel_error: evaluation exceeded its (budget|time limit)/,
    );
  });

  it('charges numbers.range before making the array', () => {
    expect(run(engine, 'data.t.big')).toBe(out);
    expect(run(engine, 'count(numbers.range(1, 999))', { steps: 1000, ms: Infinity })).toBe(999);
    expect(run(engine, 'count(numbers.range(1, 1001))', { steps: 1000, ms: Infinity })).toMatch(
      /budget of 1000 steps/,
    );
  });

  it('leaves small evaluations alone, and counts the same steps however the rules run', () => {
    expect(run(engine, 'data.t.small')).toBe(10_000);
    /** The smallest step budget the query finishes within. */
    const need = (e: PolicyEngine): number => {
      let lo = 1;
      let hi = 1_000_000;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (run(e, 'data.t.small', { steps: mid, ms: Infinity }) === 10_000) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    setHotAfter(1e9); // closures only
    const closures = need(new PolicyEngine([{ file: 't.rego', text: LOOPS }]));
    setHotAfter(0); // generated code at once
    const generated = need(new PolicyEngine([{ file: 't.rego', text: LOOPS }]));
    // 100 + 100×100 elements visited, and the ranges charged for their lengths (100 + 100×100)
    expect(closures).toBe(20_200);
    expect(generated).toBe(closures);
  });

  it('stops on the clock too', () => {
    expect(run(engine, 'data.t.nested', { steps: Infinity, ms: 20 })).toBe(
      'eval_cancel_error: evaluation exceeded its time limit of 20 ms',
    );
  });

  it('can be lifted', () => {
    expect(run(engine, 'data.t.small', { steps: 100 })).toMatch(/budget of 100 steps/);
    expect(run(engine, 'data.t.small', false)).toBe(10_000);
  });

  it('reads its limits from the environment for decisions', async () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    expect(limitsFromEnv({ MOAT_POLICY_MAX_STEPS: '5000', MOAT_POLICY_TIMEOUT_MS: '0' })).toEqual({
      steps: 5000,
      ms: Infinity,
    });
    // a malformed value keeps the default: a typo must not lift the bound
    expect(limitsFromEnv({ MOAT_POLICY_MAX_STEPS: '-1', MOAT_POLICY_TIMEOUT_MS: '1e9' })).toEqual(
      DEFAULT_LIMITS,
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-limits-'));
    try {
      writeFileSync(path.join(dir, 't.rego'), LOOPS);
      const policy = await loadPolicy([dir], {
        query: 'data.t.small',
        cache: false,
        env: { MOAT_POLICY_MAX_STEPS: '5000' },
      });
      expect(() => policy.decide({})).toThrow(/budget of 5000 steps/);
      const unbounded = await loadPolicy([dir], { query: 'data.t.small', cache: false, env: {} });
      expect(unbounded.decide({})).toBe(10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
