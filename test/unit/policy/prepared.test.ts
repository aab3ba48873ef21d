/** PreparedQuery: the static-rule memo is left out of the first evaluation (one-decision CLI processes). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadPolicy } from '../../../src/policy/decide.js';
import { StaticMemo } from '../../../src/policy/eval/static.js';

const POLICY = `package p
import rego.v1
limits := {"a": 1, "b": 2}
total := sum([v | some v in limits])
decision := {"over": input.n > total, "total": total}
`;

afterEach(() => vi.restoreAllMocks());

describe('PreparedQuery and the static memo', () => {
  it('decides the first time without it, and keeps static rules from the second on', async () => {
    const d = mkdtempSync(join(tmpdir(), 'moat-prepared-'));
    writeFileSync(join(d, 'p.rego'), POLICY);
    const p = await loadPolicy([d], { query: 'data.p.decision', cache: false });
    const holds = vi.spyOn(StaticMemo.prototype, 'holds');
    expect(p.decide({ n: 5 })).toEqual({ over: true, total: 3 });
    expect(holds).not.toHaveBeenCalled();
    expect(p.decide({ n: 1 })).toEqual({ over: false, total: 3 });
    expect(holds).toHaveBeenCalled();
    const kept = vi.spyOn(StaticMemo.prototype, 'get');
    expect(p.decide({ n: 3 })).toEqual({ over: false, total: 3 });
    expect(kept.mock.results.some((r) => r.value !== undefined)).toBe(true);
  });
});
