/**
 * Input objects are converted as the policy reads them (value.ts, fromJSONLazy): a small object is
 * looked up in its keys before any map is made, a larger one or one iterated is filled. Whatever
 * is read first, the policy must see what the eager conversion (fromJSON) gives: own enumerable
 * keys only, undefined as null, keys that start with NUL kept apart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../src/policy/index.js';
import { setCodegen, setHotAfter } from '../../../src/policy/jit.js';
import { RObject, fromJSON, fromJSONLazy, toJSON } from '../../../src/policy/value.js';

const policy = `package t
import rego.v1
a := input.obj.a
hidden := input.obj.hidden
inherited := input.obj.inherited
ctor := input.obj.constructor
undef := input.obj.u
nul := input.obj["\\u0000k"]
plain_k := input.obj.k
missing := input.obj.missing
big := input.big.k17
big_missing := input.big.nope
keys := object.keys(input.obj)
n := count(input.obj)
pairs := [[k, v] | some k, v in input.obj]
nested := [m.source | some m in input.list]
first_then_all := [input.later.x, count(input.later), object.keys(input.later)]
`;

function input(): Record<string, unknown> {
  const obj: Record<string, unknown> = Object.create({ inherited: 'from the prototype' }) as Record<
    string,
    unknown
  >;
  obj.a = 1;
  obj.u = undefined;
  obj['\u0000k'] = 'nul key';
  obj.k = 'plain k';
  Object.defineProperty(obj, 'hidden', { value: 'not enumerable', enumerable: false });
  const big: Record<string, unknown> = {};
  for (let i = 0; i < 20; i++) big[`k${i}`] = i;
  return {
    obj,
    big,
    list: [{ source: '/a' }, { source: '/b', extra: { deep: true } }],
    later: { x: 'x', y: [1, 2], z: { w: null } },
  };
}

afterEach(() => {
  setCodegen(true);
  setHotAfter(100);
});

for (const [name, codegen] of [
  ['generated code', true],
  ['closures only', false],
] as const) {
  describe(name, () => {
    it('a plain input reads as its eager conversion, whatever is read first', () => {
      setCodegen(codegen);
      setHotAfter(0);
      const q = new PolicyEngine([{ file: 't.rego', text: policy }]).prepare('data.t');
      const eager = toJSON(q.decide(fromJSON(input()))!);
      expect(eager).toMatchObject({
        a: 1,
        undef: null,
        nul: 'nul key',
        plain_k: 'plain k',
        big: 17,
        nested: ['/a', '/b'],
        first_then_all: ['x', 3, ['x', 'y', 'z']],
      });
      for (const k of ['hidden', 'inherited', 'ctor', 'missing', 'big_missing'])
        expect(eager).not.toHaveProperty(k);
      for (let i = 0; i < 3; i++) expect(toJSON(q.decide(input())!)).toEqual(eager);
    });
  });
}

describe('RObject of fromJSONLazy', () => {
  it('iterated before any lookup: the keys as given, a key that starts with NUL too', () => {
    const src = { b: 1, '\u0000z': 3 };
    expect((fromJSONLazy(src) as RObject).entries()).toEqual([
      ['b', 1],
      ['\u0000z', 3],
    ]);
    expect((fromJSONLazy(src) as RObject).keys()).toEqual(['\u0000z', 'b']);
  });

  it('a lookup, then the map: same entries in the same order', () => {
    const src = { b: 1, a: { c: [1, { d: 2 }] }, '\u0000z': 3 };
    const lazy = fromJSONLazy(src) as RObject;
    expect(lazy.get('a')).toBeInstanceOf(RObject);
    expect(lazy.get('nope')).toBeUndefined();
    const eager = fromJSON(src) as RObject;
    expect(lazy.entries().map(([k]) => k)).toEqual(eager.entries().map(([k]) => k));
    expect(toJSON(lazy)).toEqual(toJSON(eager));
    expect(lazy.size).toBe(3);
    expect(lazy.get('\u0000z')).toBe(3);
    // the value read before the map was made is the one in it
    const a = (fromJSONLazy(src) as RObject).get('a');
    expect(a).toBeInstanceOf(RObject);
  });

  it('a value read before the map is made is the one the map holds', () => {
    const lazy = fromJSONLazy({ a: { b: 1 }, c: 2 }) as RObject;
    const a = lazy.get('a');
    expect(lazy.vals.get('a')).toBe(a);
  });
});
