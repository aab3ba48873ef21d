/** Every declared builtin is implemented by the family its declaration names (lazy loading relies on it). */
import { describe, expect, it } from 'vitest';
import { DECLS } from '../../../src/policy/builtins/decl.js';
import { IMPLS, RELATIONS } from '../../../src/policy/builtins/registry.js';

const FILES = [
  'operators',
  'aggregates',
  'strings',
  'typenames',
  'objects',
  'regex',
  'numbers',
  'encoding',
  'yaml',
  'time',
  'net',
  'crypto',
  'semver',
  'misc',
  'jwt',
  'x509',
  'aws',
  'rego',
  'graphql',
];

describe('builtin families', () => {
  it('each family file registers exactly the builtins declared for it', async () => {
    for (const f of FILES) {
      const declared = DECLS.filter((d) => d.family === f).map((d) => d.name);
      expect(
        declared.filter((n) => IMPLS.has(n) || RELATIONS.has(n)),
        `${f} registered early`,
      ).toEqual([]);
      await import(`../../../src/policy/builtins/${f}.ts`);
      expect(
        declared.filter((n) => !IMPLS.has(n) && !RELATIONS.has(n)),
        `${f} missing`,
      ).toEqual([]);
    }
    expect(DECLS.filter((d) => d.family !== 'core' && !IMPLS.has(d.name) && !RELATIONS.has(d.name))).toEqual(
      [],
    );
  });
});
