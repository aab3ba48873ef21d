/**
 * The evaluator's shortcuts (fast.ts closures, jit.ts generated code) must give exactly the answers
 * of the general path. Each case is asserted against its expected result, once with generated code
 * and once with the closures only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyEngine, RegoError, RegoErrors } from '../../../src/policy/index.js';
import { setCodegen } from '../../../src/policy/jit.js';

interface Case {
  note: string;
  modules: string[];
  query: string;
  input?: unknown;
  data?: unknown;
  strict?: boolean;
  /** Expected bindings of each solution, or an error code. */
  want: Record<string, unknown>[] | string;
}

const cases: Case[] = [
  {
    note: 'undefined vs false: a comparison that is false, and one on a missing field',
    modules: ['package t\nf := input.a == 1\ng := input.missing == 1\nh if not input.missing == 1'],
    query: 'x := data.t',
    input: { a: 2 },
    want: [{ x: { f: false, h: true } }],
  },
  {
    note: 'negation of false, of undefined and of a defined value',
    modules: ['package t\nfalse_v := false\na if not false_v\nb if not input.nope\nc if not input.yes'],
    query: 'x := [object.get(data.t, "a", "-"), object.get(data.t, "b", "-"), object.get(data.t, "c", "-")]',
    input: { yes: 0 },
    want: [{ x: [true, true, '-'] }],
  },
  {
    note: 'complete rule conflict',
    modules: ['package t\nr := 1 if input.a\nr := 2 if input.b'],
    query: 'x := data.t.r',
    input: { a: true, b: true },
    want: 'eval_conflict_error',
  },
  {
    note: 'function conflict',
    modules: ['package t\nf(x) := 1 if x > 0\nf(x) := 2 if x > 1\nr := f(input.n)'],
    query: 'x := data.t.r',
    input: { n: 5 },
    want: 'eval_conflict_error',
  },
  {
    note: 'function clauses with constant parameters, else chains and defaults',
    modules: [
      `package t
protected(src, p) if src == trim_suffix(p, "/")
protected(src, p) if {
  p != "/"
  startswith(src, concat("", [p, "/"]))
}
protected("", "/")
kind(x) := "small" if x < 10
else := "big"
default d(_) := "none"
d(1) := "one"
hits contains [s, p] if {
  some s in input.srcs
  some p in ["/", "/etc", "/var/"]
  protected(trim_suffix(s, "/"), p)
}
kinds := [kind(1), kind(100)]
ds := [d(1), d(2)]`,
    ],
    query: 'h := data.t.hits; k := data.t.kinds; d := data.t.ds',
    input: { srcs: ['/', '/etc/', '/etc/x', '/etcx', '/var', '/home'] },
    want: [
      {
        h: [
          ['/', '/'],
          ['/etc/', '/etc'],
          ['/etc/x', '/etc'],
          ['/var', '/var/'],
        ],
        k: ['small', 'big'],
        d: ['one', 'none'],
      },
    ],
  },
  {
    note: 'with: builtin and function mocks reach called functions; data and input overrides',
    modules: [
      `package t
f(x) := upper(x)
g(_) := "mocked"
a := f("x")
b := x if x := f("x") with upper as "U"
c := x if x := f("x") with f as g
d := x if x := data.cfg.v with data.cfg.v as 7
e := x if x := input.v with input.v as 8
h := x if x := count(data.cfg.list) with count as 9`,
    ],
    query: 'x := [data.t.a, data.t.b, data.t.c, data.t.d, data.t.e, data.t.h]',
    data: { cfg: { v: 1, list: [1, 2] } },
    input: { v: 0 },
    want: [{ x: ['X', 'U', 'mocked', 7, 8, 9] }],
  },
  {
    note: 'every and some, including empty and failing domains',
    modules: [
      `package t
all_pos if every x in input.xs { x > 0 }
all_pos_empty if every x in [] { x > 0 }
some_neg if { some x in input.xs; x < 0 }
some_kv contains k if { some k, v in input.o; v == 1 }
none if every x in input.ys { x > 0 }`,
    ],
    query: 'x := data.t',
    input: { xs: [1, 2, -1], o: { a: 1, b: 2, c: 1 }, ys: [1, 2] },
    want: [{ x: { all_pos_empty: true, some_neg: true, some_kv: ['a', 'c'], none: true } }],
  },
  {
    note: 'generated loops: arrays, objects, sets, nested, early exit, bound loop variables, undefined domains',
    modules: [
      `package t
arr contains [i, x] if { some i, x in input.arr; x > 1 }
obj contains [k, v] if { some k, v in input.obj; v != 2 }
st contains x if { some x in {"b", "a", "c"}; x != "b" }
nested contains [x, y] if { some x in input.arr; some y in input.arr; x < y }
first if { some x in input.arr; x == 1 }
undef_dom if { some x in input.nope; x }
scalar_dom if { some x in 5; x }
in_fn(xs) := y if { some x in xs; y := x * 10; y > 10 }
fn := in_fn(input.arr)
comp := [y | some x in input.arr; y := x + 1]`,
    ],
    query: 'x := data.t',
    input: { arr: [1, 2], obj: { b: 2, a: 1, c: 3 } },
    want: [
      {
        x: {
          arr: [[1, 2]],
          obj: [
            ['a', 1],
            ['c', 3],
          ],
          st: ['a', 'c'],
          nested: [[1, 2]],
          first: true,
          fn: 20,
          comp: [2, 3],
        },
      },
    ],
  },
  {
    note: 'iteration, patterns and unbound keys take the general path',
    modules: [
      `package t
vals contains v if v = input.arr[_]
pair := [b, a] if [a, b] = input.pair
keys contains k if input.o[k] == 1
obj := y if {
  {"k": y} = input.ko
}
rev := x if input.n = x
out := n if count(input.arr, n)
sum_ok if plus(1, 2, 3)
sum_bad if plus(1, 2, 4)
parts if split("a,b", ",", ["a", "b"])
wild if _ = input.n`,
    ],
    query: 'x := data.t',
    input: { arr: [3, 1, 3], pair: [1, 2], o: { p: 1, q: 2 }, ko: { k: 'v' }, n: 4 },
    want: [
      {
        x: {
          vals: [1, 3],
          pair: [2, 1],
          keys: ['p'],
          obj: 'v',
          rev: 4,
          out: 3,
          sum_ok: true,
          parts: true,
          wild: true,
        },
      },
    ],
  },
  {
    note: 'builtin errors: undefined by default',
    modules: [
      'package t\nr := to_number("x")\ns if not to_number("x")\nu := 1 if { x := to_number("x"); x == 1 }',
    ],
    query: 'x := data.t',
    want: [{ x: { s: true } }],
  },
  {
    note: 'builtin errors: strict',
    modules: ['package t\nr := to_number("x")'],
    query: 'x := data.t.r',
    strict: true,
    want: 'eval_builtin_error',
  },
  {
    note: 'constants: big integers, negative zero, composite constants',
    modules: [
      `package t
big := x if { x := 9007199254740993; x == 9007199254740993 }
z if { x := -0; x == 0 }
c := x if { x := {"a": [1, {2}]}; x.a[1] == {2} }
s := x if { x := "\\u2028\\"q\\""; count(x) == 4 }`,
    ],
    query: 'x := data.t',
    want: [{ x: { big: 9007199254740993n, z: true, c: { a: [1, [2]] }, s: '\u2028"q"' } }],
  },
  {
    note: 'operators on numbers, strings, mixed types and composites',
    modules: [
      `package t
cmp := [x < y, x <= y, x > y, x >= y, x == y, x != y] if { x := input.a; y := input.b }
strs := [x < "b", x > "b", x == "a"] if x := input.s
mixed := [x < "a", x > "a", x < null, x == 1] if x := input.n
arrs := [x < [1, 3], x > [1], x == [1, 2]] if x := input.arr
big if { x := input.n; x < 9007199254740993 }`,
    ],
    query: 'x := data.t',
    input: { a: 1, b: 2, s: 'a', n: 1, arr: [1, 2] },
    want: [
      {
        x: {
          cmp: [true, true, false, false, false, true],
          strs: [true, false, true],
          mixed: [true, false, false, true],
          arrs: [true, true, true],
          big: true,
        },
      },
    ],
  },
  {
    note: 'no input: refs to input are undefined',
    modules: ['package t\na if input.x\nb if not input.x\nc := input'],
    query: 'x := data.t',
    want: [{ x: { b: true } }],
  },
  {
    note: 'variables bound in either direction and compared when already bound',
    modules: [
      `package t
a := y if { x := input.n; y = x + 1 }
b := y if { 5 = y }
c if { x := input.n; x = 4; 4 = x }
d if { x := input.n; x = 5 }
e := [x, y] if { x = y; y = 2 }`,
    ],
    query: 'x := data.t',
    input: { n: 4 },
    want: [{ x: { a: 5, b: 5, c: true, e: [2, 2] } }],
  },
];

function evaluate(c: Case): Record<string, unknown>[] | string {
  try {
    const engine = new PolicyEngine(
      c.modules.map((text, i) => ({ file: `m${i}.rego`, text })),
      c.data ?? {},
      { strictBuiltinErrors: c.strict },
    );
    return engine.eval(c.query, c.input, { bigints: true }).map((r) => r.bindings);
  } catch (e) {
    if (e instanceof RegoErrors) return e.errors[0].code;
    if (e instanceof RegoError) return e.code;
    throw e;
  }
}

afterEach(() => setCodegen(true));

for (const codegen of [true, false]) {
  describe(codegen ? 'generated code' : 'closures only', () => {
    for (const c of cases) {
      it(c.note, () => {
        setCodegen(codegen);
        expect(evaluate(c)).toEqual(c.want);
      });
    }
  });
}
