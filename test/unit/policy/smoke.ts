import { PolicyEngine } from '../../../src/policy/engine.js';
const e = new PolicyEngine([{ file: 'a.rego', text: `package test
p contains x if { some x in [1,2,3]; x > 1 }
q := count(p) if true
r[k] := v if { some k, v in {"a": 1, "b": 2} }
f(x) := x + 1
s := f(2)
t if { not p[7] }
u := [y | some y in p]
` }], {a: 1});
console.log(JSON.stringify(e.eval('data.test')));
console.log(JSON.stringify(e.eval('x := data.test.p[_]; x > 2')));
console.log(JSON.stringify(e.eval('data.a')));
