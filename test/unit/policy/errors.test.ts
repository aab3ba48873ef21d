import { describe, expect, it } from 'vitest';
import { PolicyEngine, RegoError, RegoErrors } from '../../../src/policy/index.js';
import { Compiler } from '../../../src/policy/compiler.js';

function compileError(text: string, v0 = false): RegoError {
  try {
    new PolicyEngine([{ file: 'p.rego', text }], {}, { v0Compatible: v0 });
  } catch (e) {
    if (e instanceof RegoErrors) return e.errors[0];
    if (e instanceof RegoError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('error locations and format', () => {
  it('parse errors point at file:line:col with a caret', () => {
    const e = compileError('package p\n\nallow if {\n  x := [1, 2\n}\n');
    expect(e.code).toBe('rego_parse_error');
    expect(e.location).toMatchObject({ file: 'p.rego', row: 5 });
    const f = e.format();
    expect(f.split('\n')[0]).toMatch(/^p\.rego:5:\d+: rego_parse_error: /);
    expect(f).toContain('^');
  });
  it('unsafe vars carry the variable location', () => {
    const e = compileError('package p\nallow if {\n  y > 1\n}\n');
    expect(e.code).toBe('rego_unsafe_var_error');
    expect(e.message).toBe('var y is unsafe');
    expect(e.location).toEqual({ file: 'p.rego', row: 3, col: 3 });
    expect(e.format()).toBe('p.rego:3:3: rego_unsafe_var_error: var y is unsafe\n\t  y > 1\n\t  ^');
  });
  it('recursion names the cycle', () => {
    const e = compileError('package p\na if b\nb if a\n');
    expect(e.code).toBe('rego_recursion_error');
    expect(e.message).toMatch(
      /data\.p\.a -> data\.p\.b -> data\.p\.a|data\.p\.b -> data\.p\.a -> data\.p\.b/,
    );
  });
  it('conflicts raise eval_conflict_error at evaluation', () => {
    const engine = new PolicyEngine([{ file: 'p.rego', text: 'package p\nx := input.a\nx := input.b\n' }]);
    expect(() => engine.eval('data.p.x', { a: 1, b: 2 })).toThrowError(
      expect.objectContaining({ code: 'eval_conflict_error' }),
    );
    expect(engine.eval('data.p.x', { a: 1, b: 1 })[0].expressions[0].value).toBe(1);
  });
  it('type errors in strict mode are eval_type_error', () => {
    const engine = new PolicyEngine(
      [{ file: 'p.rego', text: 'package p\nx := count(input.n)\n' }],
      {},
      { strictBuiltinErrors: true },
    );
    expect(() => engine.eval('data.p.x', { n: 1 })).toThrowError(
      expect.objectContaining({ code: 'eval_type_error' }),
    );
  });
  it('several compile errors are reported together', () => {
    try {
      new PolicyEngine([{ file: 'p.rego', text: 'package p\na if x > 1\nb if y > 1\n' }]);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(RegoErrors);
      expect((e as RegoErrors).errors.map((x) => x.code)).toEqual([
        'rego_unsafe_var_error',
        'rego_unsafe_var_error',
      ]);
      expect((e as RegoErrors).format()).toMatch(/^2 errors occurred:/);
    }
  });
  it('compiler stages are an ordered, named list', () => {
    expect(Compiler.STAGES.map(([n]) => n)).toEqual([
      'BuildRuleTree',
      'CheckRuleConflicts',
      'ResolveRefs',
      'RewriteRegoMetadataCalls',
      'CheckSafety',
      'CheckRecursion',
      'FoldConstants',
    ]);
  });
});

describe('prepared queries', () => {
  it('prepare once, evaluate many times with different inputs', () => {
    const engine = new PolicyEngine([
      { file: 'p.rego', text: 'package p\ndefault allow := false\nallow if input.user == "alice"\n' },
    ]);
    const q = engine.prepare('data.p.allow');
    expect(q.decide({ user: 'alice' })).toBe(true);
    expect(q.decide({ user: 'bob' })).toBe(false);
    expect(q.eval({ user: 'alice' })).toEqual([
      { expressions: [{ value: true, text: 'data.p.allow', location: { row: 1, col: 1 } }], bindings: {} },
    ]);
  });
  it('returns bindings and one result per solution', () => {
    const engine = new PolicyEngine([]);
    const rs = engine.eval('x := [1, 2][i]');
    expect(rs.map((r) => r.bindings)).toEqual([
      { x: 1, i: 0 },
      { x: 2, i: 1 },
    ]);
  });
});
