/**
 * The evaluator's shortcuts (fast.ts closures, jit.ts generated code) must give exactly the answers
 * of the general path. Each case is asserted against its expected result with generated code (whole
 * evaluations in one part, and in a part per clause) and with the closures only.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyEngine, RegoError, RegoErrors } from '../../../src/policy/index.js';
import { codegenEnabled, setCodegen, setHotAfter, setWholePart } from '../../../src/policy/jit.js';

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
    note: 'whole function calls: repeated parameters, constant heads, else chains, defaults, false values',
    modules: [
      `package t
same(x, x)
pick(1, y) := y
pick(2, _) := "two"
pick(3, "c") := "three-c"
pick(x, "d") := x if x > 10
cls(x) := "neg" if x < 0
else := "zero" if x == 0
else := "pos"
part(x) := y if { x > 0; y := x * 2 } else := z if { z := input.missing }
else := "none"
default dflt(_, _) := "dflt"
dflt(x, y) := x + y if x > y
isfalse(_) := false
nums(x) := [x, 1.5, 18446744073709551616]
str(x) := 1 if x == "1"
str(1) := 1
undef_head(x) := input.nothing if x
same1 := same(1, 1)
same2 := same(1, 2)
same3 := same([1], [1])
same4 := same(1, 1.0)
pick1 := [pick(1, "a"), pick(2, 0), pick(3, "c"), pick(11, "d")]
pick2 := pick(3, "x")
pick3 := pick(4, "d")
cls1 := [cls(-1), cls(0), cls(5)]
part1 := [part(2), part(0)]
dflt1 := [dflt(3, 1), dflt(1, 3)]
misc := [isfalse(1), nums(2), str("1"), str(1)]
undef1 := undef_head(true)
pat([a, b]) := a + b
pat(x) := x if is_number(x)
pat1 := [pat([1, 2]), pat(7)]`,
    ],
    query: 'x := data.t',
    want: [
      {
        x: {
          same1: true,
          same3: true,
          same4: true,
          pick1: ['a', 'two', 'three-c', 11],
          cls1: ['neg', 'zero', 'pos'],
          part1: [4, 'none'],
          dflt1: [4, 'dflt'],
          misc: [false, [2, 1.5, 18446744073709551616n], 1, 1],
          pat1: [3, 7],
        },
      },
    ],
  },
  {
    note: 'whole function calls: equal values from several clauses',
    modules: [
      'package t\nf(x) := 1 if x > 0\nf(x) := 1 if x > 1\nf(x) := 2 if x > 2\nr := [f(1), f(2)]\ns := f(3)',
    ],
    query: 'x := data.t.r',
    want: [{ x: [1, 1] }],
  },
  {
    note: 'whole function calls: a conflict is an error',
    modules: ['package t\nf(x) := 1 if x > 0\nf(x) := 1 if x > 1\nf(x) := 2 if x > 2\ns := f(3)'],
    query: 'x := data.t.s',
    want: 'eval_conflict_error',
  },
  {
    note: 'whole function calls: mocks of the function, of functions and builtins it calls',
    modules: [
      `package t
inner(x) := concat("-", [x, "i"])
outer(x) := y if { y := inner(upper(x)) }
alt(_) := "alt"
alt2(_, _) := "alt2"
a := outer("a")
b := x if x := outer("a") with inner as alt
c := x if x := outer("a") with upper as "Q"
d := x if x := outer("a") with outer as "O"
e := x if x := outer("a") with concat as alt2
f := [outer("a"), outer("b")]`,
    ],
    query: 'x := data.t',
    want: [{ x: { a: 'A-i', b: 'alt', c: 'Q-i', d: 'O', e: 'alt2', f: ['A-i', 'B-i'] } }],
  },
  {
    note: 'whole function calls: bodies that need the general path at run time (many calls), with and print',
    modules: [
      `package t
keys(o) := ks if { ks := {k | o[k]} }
firstpos(xs) := x if { x := xs[_]; x > 0 }
anyref(o, k) := o[k]
overridden(x) := y if { y := data.cfg.v + x }
r := [keys({"a": 1}), firstpos([0, 2]), anyref({"a": 1}, "a")]
many := [firstpos([0 - i, i + 1]) | some i in numbers.range(0, 20)]
w := x if x := overridden(1) with data.cfg.v as 10
plain := overridden(1)
pr(x) := x if print("p", x)
p := pr(3)`,
    ],
    query: 'x := data.t',
    data: { cfg: { v: 1 } },
    want: [
      {
        x: {
          r: [['a'], 2, 1],
          many: Array.from({ length: 21 }, (_, i) => i + 1),
          w: 11,
          plain: 2,
          p: 3,
        },
      },
    ],
  },
  {
    note: 'whole function calls: builtin type errors are undefined by default',
    modules: [
      'package t\nf(x) := trim_suffix(x, "/")\ng(x) if startswith(x, concat("", [x, 1]))\na := f(1)\nb := f("a/")\nc if not g("x")',
    ],
    query: 'x := data.t',
    want: [{ x: { b: 'a', c: true } }],
  },
  {
    note: 'whole function calls: builtin type errors, strict',
    modules: ['package t\nf(x) := trim_suffix(x, "/")\nb := f(1)'],
    query: 'x := data.t.b',
    strict: true,
    want: 'eval_type_error',
  },
  {
    note: 'whole function calls: recursion is an error',
    modules: ['package t\nf(x) := g(x)\ng(x) := f(x)\nr := f(1)'],
    query: 'x := data.t.r',
    want: 'rego_recursion_error',
  },
  {
    note: 'whole rules: loops over arrays, objects and sets, nested, with bindings after the loop, else chains, defaults',
    modules: [
      `package t
pairs contains [x, y] if {
  some x in input.xs
  z := x * 2
  some k, y in input.o
  y > z
  w := concat("-", [k, k])
  w != "c-c"
}
member_loop contains x if {
  x := 2
  some x in input.xs
}
prefix_bound contains [x, n] if {
  n := count(input.xs)
  some x in input.xs
  n == 3
  m := x + n
  m > 4
}
first := x if { some x in input.xs; x > 2 }
same := 1 if { some x in input.xs; x > 0 }
setloop contains k if { some k, v in {"a", "b"}; k == v }
undef_dom contains x if { some x in input.nothing }
scalar_dom contains x if { some x in 5 }
negated contains x if { some x in input.xs; not x == 2 }
comp contains [x, ys] if { some x in input.xs; ys := [y | some y in input.xs; y > x] }
chain := "a" if { some x in input.xs; x > 5 } else := "b" if { some x in input.xs; x == 3 } else := "c"
default dflt := "d"
dflt := x if { some x in input.xs; x > 10 }
exc(kind) if {
  some pattern in data.exc[kind]
  glob.match(pattern, ["/"], input.ref)
}
excepted := [exc("a"), exc("b")]
not_excepted if not exc("c")
nested_keys contains [i, j] if { some i, row in input.m; some j, v in row; v == 1 }`,
    ],
    query: 'x := data.t',
    input: {
      xs: [1, 2, 3],
      o: { a: 3, b: 5, c: 7 },
      ref: 'r.io/x/y',
      m: [
        [0, 1],
        [1, 1],
      ],
    },
    data: { exc: { a: ['r.io/*/*'], b: ['q.io/*'], c: ['*'] } },
    want: [
      {
        x: {
          chain: 'b',
          comp: [
            [1, [2, 3]],
            [2, [3]],
            [3, []],
          ],
          dflt: 'd',
          first: 3,
          member_loop: [2],
          negated: [1, 3],
          nested_keys: [
            [0, 1],
            [1, 0],
            [1, 1],
          ],
          not_excepted: true,
          pairs: [
            [1, 3],
            [1, 5],
            [2, 5],
          ],
          prefix_bound: [
            [2, 3],
            [3, 3],
          ],
          same: 1,
          scalar_dom: [],
          setloop: ['a', 'b'],
          undef_dom: [],
        },
      },
    ],
  },
  {
    note: 'whole rules: solutions of one clause that differ are a conflict',
    modules: ['package t\nr := x if some x in input.xs'],
    query: 'x := data.t.r',
    input: { xs: [1, 2] },
    want: 'eval_conflict_error',
  },
  {
    note: 'builtins spelled out in generated code: right and wrong argument types, mocks',
    modules: [
      `package t
up := upper(input.s)
up_bad := upper(input.n)
sw := [startswith(input.s, "ab"), endswith(input.s, "bc"), contains(input.s, "b"), lower(upper(input.s))]
sw_bad := startswith(input.s, input.n)
tp := [trim_prefix(input.s, "a"), trim_prefix(input.s, "x"), trim_suffix(input.s, "c"), trim_suffix(input.s, input.e)]
tp_bad := trim_suffix(input.n, "c")
cc := [concat("-", input.arr), concat("-", []), concat("-", {x | some x in input.arr}), concat(input.e, input.arr)]
cc_bad := concat("-", input.mixed)
cnt := [count(input.arr), count(input.o), count({x | some x in input.arr}), count("héllo"), count(input.s)]
cnt_bad := count(input.n)
og := [object.get(input.o, "a", 1), object.get(input.o, "zz", 2), object.get(input.o, ["b", "c"], 0), object.get(input.o, "b", 0)]
og_bad := object.get(input.arr, "a", 1)
mem := [1 in {1, 2}, 3 in {1, 2}, "a" in input.arr, "a" in input.o, input.n in {x | some x in [1]}]
up_mock := x if x := upper(input.s) with upper as "M"
cnt_mock := x if x := count(input.arr) with count as 9`,
    ],
    query: 'x := data.t',
    input: { s: 'abc', e: '', n: 1, arr: ['a', 'b'], mixed: ['a', 1], o: { a: null, b: { c: 3 } } },
    want: [
      {
        x: {
          up: 'ABC',
          sw: [true, true, true, 'abc'],
          tp: ['bc', 'abc', 'ab', 'abc'],
          cc: ['a-b', '', 'a-b', 'ab'],
          cnt: [2, 2, 2, 5, 3],
          og: [null, 2, 3, { c: 3 }],
          mem: [true, false, true, false, true],
          up_mock: 'M',
          cnt_mock: 9,
        },
      },
    ],
  },
  {
    note: 'builtins spelled out in generated code: wrong argument types, strict',
    modules: ['package t\ncc_bad := concat("-", input.mixed)'],
    query: 'x := data.t.cc_bad',
    input: { mixed: ['a', 1] },
    strict: true,
    want: 'eval_type_error',
  },
  {
    note: 'builtins spelled out in generated code: wrong argument types, strict (in a function)',
    modules: ['package t\nf(x) := upper(x)\nr := f(input.n)'],
    query: 'x := data.t.r',
    input: { n: 1 },
    strict: true,
    want: 'eval_type_error',
  },
  {
    note: 'refs to rules from generated code: further keys, undefined rules, nested rule paths, overrides',
    modules: [
      `package t
o := {"a": {"b": 1}}
u := input.nothing
p.q := 2
r1 := data.t.o.a.b
r2 if not data.t.u
r3 := data.t.o["a"]
r4 := data.t.p.q
r5 := data.t.p
r6 := x if x := data.t.r1 with data.t.o as {"a": {"b": 5}}
r7 := x if x := data.t.r4 with data.t.p.q as 3
r8 := data.t.o.a.nope`,
    ],
    query: 'x := data.t',
    want: [
      {
        x: {
          o: { a: { b: 1 } },
          p: { q: 2 },
          r1: 1,
          r2: true,
          r3: { b: 1 },
          r4: 2,
          r5: { q: 2 },
          r6: 5,
          r7: 3,
        },
      },
    ],
  },
  {
    note: 'sprintf flags, widths and precisions; integers without exponent',
    modules: [
      'package t\ns := sprintf("%+05d|%-4s|%6.2f|%x|%d|%v|%s %%|%d", [input.i, "ab", 3.14159, 255, input.big, input.big, "x", -7])',
    ],
    query: 'x := data.t.s',
    input: { i: 3, big: 1e20 },
    want: [{ x: '+0003|ab  |  3.14|ff|100000000000000000000|100000000000000000000|x %|-7' }],
  },
  {
    note: 'whole function calls from generated code: a callee that needs the general path at run time, past the point it is given up',
    modules: [
      `package t
firstpos(xs) := x if { x := xs[_]; x > 0 }
double(x) := 2 * x
calls contains [firstpos([0 - i, i + 1]), double(i)] if some i in numbers.range(0, 11)`,
    ],
    query: 'x := data.t.calls',
    want: [{ x: Array.from({ length: 12 }, (_, i) => [i + 1, 2 * i]) }],
  },
  {
    note: 'object literals in generated code: rule refs, input, nested, non-string keys, an undefined value',
    modules: [
      `package t
v := 1
o := {"a": v, "b": input.s, "c": {"d": [v, input.n]}}
k := {input.s: 1, 2: "two", [1, 2]: "arr"}
u := {"a": input.missing}
d := {"allow": v > 0, "deny": {x | some x in input.xs}}`,
    ],
    query: 'x := data.t',
    input: { s: 'str', n: 5, xs: [2, 1] },
    want: [
      {
        x: {
          v: 1,
          o: { a: 1, b: 'str', c: { d: [1, 5] } },
          k: { '2': 'two', '[1,2]': 'arr', str: 1 },
          d: { allow: true, deny: [1, 2] },
        },
      },
    ],
  },
  {
    note: 'sprintf with %s, %d and %% only (concatenated inline for strings and integers) and with other values',
    modules: [
      `package t
a := sprintf("host %s has %d%% of %s", [input.h, input.n, input.u])
b := sprintf("%s/%d", [input.n, input.f])
c := sprintf("%d and %s", [input.neg, input.arr])
d := sprintf("only text, 100%%", [])
e if sprintf("%s", [input.missing])
f := sprintf("%s %s", [input.h])
g := [sprintf("<%d:%s>", [n, s]) | some n in input.nums; s := input.h]
i := sprintf("%d", [12345678901234567890])`,
    ],
    query: 'x := data.t',
    input: { h: 'web', n: 42, u: 'ünï', f: 1.5, neg: -7, arr: [1, 'x'], nums: [0, -0, 3, 2.5, 1e21] },
    want: [
      {
        x: {
          a: 'host web has 42% of ünï',
          b: '42/%!d(number=1.5)',
          c: '-7 and [1, "x"]',
          d: 'only text, 100%',
          f: 'web %!s(MISSING)',
          g: ['<0:web>', '<0:web>', '<3:web>', '<%!d(number=2.5):web>', '<1e+21:web>'],
          i: '12345678901234567890',
        },
      },
    ],
  },
  {
    note: 'comparisons with string, boolean and null constants; constant keys into objects, sets and arrays',
    modules: [
      `package t
a := [input.s == "x", input.s != "x", input.n == "1", input.t == true, input.z == null, input.z != false, true == input.t, "x" == input.s, input.n == 1.0]
u if input.missing == "x"
st := {"a", "b"}
keys := [st["a"], input.o.k, input.o["\u0000k"]]
arr_key if input.arr["x"]
set_miss if st["c"]`,
    ],
    query: 'x := data.t',
    input: { s: 'x', n: 1, t: true, z: null, o: { k: 1, '\u0000k': 2 }, arr: [1] },
    want: [
      {
        x: {
          a: [true, false, false, true, true, true, true, true, true],
          st: ['a', 'b'],
          keys: ['a', 1, 2],
        },
      },
    ],
  },
  {
    note: 'input objects converted as they are read: partial reads, iteration, equality, counts, odd JS values',
    modules: [
      `package t
a := input.o.x.y
keys := object.keys(input.o)
n := count(input.o.x)
pairs contains [k, v] if some k, v in input.o.x
same if input.o.x == input.p
differ if input.o.x != input.q
arr := [input.arr[1].b, count(input.arr)]
odd := [input.u, input.d, input.big, input.nul["\u0000k"]]
w := x if x := input.o.x.y with input.o.x.y as 9
whole := input.o
bare := input.bare.k`,
    ],
    query: 'x := data.t',
    input: {
      o: { x: { y: 1, z: [1, 2] }, w: { deep: { er: true } } },
      p: { z: [1, 2], y: 1 },
      q: { y: 1 },
      arr: [{ b: 1 }, { b: 2 }],
      u: undefined,
      d: new Date(0),
      big: 5n,
      nul: { '\u0000k': 'nul' },
      bare: Object.assign(Object.create(null), { k: 'v' }),
    },
    want: [
      {
        x: {
          a: 1,
          keys: ['w', 'x'],
          n: 2,
          pairs: [
            ['y', 1],
            ['z', [1, 2]],
          ],
          same: true,
          differ: true,
          arr: [2, 2],
          odd: [null, '1970-01-01T00:00:00.000Z', 5, 'nul'],
          w: 9,
          whole: { x: { y: 1, z: [1, 2] }, w: { deep: { er: true } } },
          bare: 'v',
        },
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
    note: 'number constants where a collection goes (the generated guard reads `(1).has`, not `1.has`)',
    modules: ['package t\na := x if x := "foo" in 1\nb := x if x := count(2)\nc := object.get(3, "k", "d")'],
    query: 'x := data.t',
    want: [{ x: { a: false } }],
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

// Cases are evaluated once: generate code at once, or these would test the closures only.
beforeEach(() => setHotAfter(0));
afterEach(() => {
  setCodegen(true);
  setWholePart(20000);
  setHotAfter(100);
});

describe('repeated evaluations of one prepared query (generated code given up after run-time hand-overs)', () => {
  const modules = [
    `package t
vals contains v if { some i; v := input.xs[i]; v > 0 }
total := sum([v | some v in vals])
n := count(data.u.vals)
f(xs) := y if { y := xs[_]; y < 0 }
g := f(input.xs)`,
    // read first from generated code (n): a rule ref whose whole evaluation needs the general path
    `package u
vals contains v if { some i; v := input.xs[i]; v > 0 }`,
  ];
  for (const [codegen, hot] of [
    [true, 0],
    [true, 3],
    [false, 0],
  ] as const) {
    it(
      codegen ? `generated code${hot ? `, after ${hot} cold evaluations by closures` : ''}` : 'closures only',
      () => {
        setCodegen(codegen);
        setHotAfter(hot);
        const q = new PolicyEngine(modules.map((text, i) => ({ file: `m${i}.rego`, text }))).prepare(
          'x := data.t',
        );
        for (let n = 0; n < 30; n++) {
          const xs = [0 - n, n, 2];
          const got = q.eval({ xs }).map((r) => r.bindings);
          const vals = [...new Set(xs.filter((v) => v > 0))].sort((a, b) => a - b);
          const want: Record<string, unknown> = {
            vals,
            total: vals.reduce((a, b) => a + b, 0),
            n: vals.length,
          };
          if (n > 0) want.g = 0 - n;
          expect(got, `n=${n}`).toEqual([{ x: want }]);
        }
      },
    );
  }
});

const modes = [
  { name: 'generated code', codegen: true, part: 20000 },
  { name: 'generated code, each clause of a whole evaluation in a part of its own', codegen: true, part: 0 },
  { name: 'closures only', codegen: false, part: 20000 },
];
for (const m of modes) {
  describe(m.name, () => {
    for (const c of cases) {
      it(c.note, () => {
        setCodegen(m.codegen);
        setWholePart(m.part);
        expect(evaluate(c)).toEqual(c.want);
        // generated source that does not parse turns code generation off for the process
        expect(codegenEnabled()).toBe(m.codegen);
      });
    }
  });
}
