/**
 * Straight-line JavaScript for the simple expressions of a body (see fast.ts for what "simple"
 * means). The closures of fast.ts cost an indirect call per term and per expression; here the
 * simple expressions of a body become one generated function, `seg(e, f, from)`, that runs them
 * from expression `from` on, reading constants and frame slots inline and calling builtins
 * directly. It has exactly the contract of the closure loop it replaces:
 *
 *   - returns the body's length if every expression from `from` on held, -1 as soon as one failed,
 *     or the index of the first expression that needs the general path (iteration, `with`, an
 *     unbound variable, a mock in effect, ...), with the bindings made before it in place;
 *   - pushes every slot it binds onto TRAIL (eval/frame.ts), so the caller can undo them.
 *
 * Each generated step is the closure version spelled out: same evaluation order, same answer for
 * undefined (the expression fails, or holds when negated), same hand-over to the general path. Any
 * term without an inline form is evaluated through its value function (fast.ts). Only numbers
 * (slots, indexes) and JSON-quoted literals are written into the source; every other value is
 * passed in through the `K` table. Where code generation from strings is unavailable (node
 * --disallow-code-generation-from-strings), `segment` returns undefined and the closures are used.
 *
 * Longer than 500 lines on purpose: one code generator, the Gen class, whose methods each emit one
 * node kind and share its state (the constant table K, labels and temporaries, the statements that
 * fail or hand over the current expression). Split, that state would be passed around, not reduced.
 */
import type { Body, Call, Expr, Rule, Term } from './ast.js';
import { DECLARED, IMPLS } from './builtins/registry.js';
import type { RuleNode } from './compiler.js';
import { NOT_CACHED } from './eval/cache.js';
import { MULTI, TRAIL, lookup } from './eval/frame.js';
import type { EvalHost, FnRef, RuleRef, RunFn, SegFn, WholeFn } from './eval/host.js';
import { simpleSomeIn, valueFn } from './fast.js';
import { visitExpr } from './walk.js';
import { RObject, RSet, compare, equal, type Value } from './value.js';

let enabled = true;
/** Turns code generation off (or back on) for bodies compiled from now on; for tests. */
export function setCodegen(on: boolean): void {
  enabled = on;
}
/** Whether bodies compiled from now on get generated code (off after a failed generation); for tests. */
export function codegenEnabled(): boolean {
  return enabled;
}

let hotAfter = 100;
/**
 * Bodies and rules get generated code only once they have been evaluated this many times (0: at
 * once). Generating costs more than running the closures a few times, and a CLI command makes one
 * decision per process: the default policy's first decision took 5.1 ms with code generated after
 * 2 uses, 2.4 ms by closures alone. A prepared query evaluated many times turns hot soon enough.
 * Settable for tests.
 */
export function setHotAfter(n: number): void {
  hotAfter = n;
}
/** @internal */
export function hotThreshold(): number {
  return hotAfter;
}

/** A body's generated functions: `seg` (see above) and `run`, the body with its continuation. */
export interface Generated {
  seg: SegFn;
  /**
   * Evaluates the body from expression `from`, calling k per solution, like fast.ts's closure `run`
   * (bindings undone on return), with `some … in` loops inline; an expression without a generated
   * form goes to `general(e, f, k, i)`.
   */
  run: RunFn;
}

export function generate(body: Body, ev: EvalHost, general: RunFn): Generated | undefined {
  if (!enabled) return undefined;
  const g = new Gen(ev);
  const segCases: string[] = [];
  const runCases: string[] = [];
  for (let i = 0; i < body.length; i++) {
    g.fail = 'return -1;';
    g.general = (j) => `return ${j};`;
    const code = g.expr(body[i], i);
    segCases.push(`case ${i}: {\n${code ?? `return ${i};`}\n}`);
    g.fail = 'return false;';
    g.general = (j) => `return G(e, f, k, ${j});`;
    const rcode = g.expr(body[i], i) ?? g.loop(body[i], i);
    runCases.push(`case ${i}: {\n${rcode ?? `return G(e, f, k, ${i});`}\n}`);
  }
  const src = `return {
seg: function seg(e, f, from) {
switch (from) {
${segCases.join('\n')}
}
return ${body.length};
},
run: function run(e, f, k, from) {
const mark = TRAIL.n;
try {
switch (from) {
${runCases.join('\n')}
}
return k();
} finally {
const s = TRAIL.s;
for (let t = TRAIL.n; t > mark; ) f[s[--t]] = undefined;
TRAIL.n = mark;
}
}
};`;
  try {
    const make = new Function(
      'K',
      'MULTI',
      'lookup',
      'equal',
      'compare',
      'TRAIL',
      'RObject',
      'RSet',
      'G',
      src,
    ) as (...a: unknown[]) => Generated;
    return make(g.K, MULTI, lookup, equal, compare, TRAIL, RObject, RSet, general);
  } catch {
    enabled = false; // no code generation here: the closures do
    return undefined;
  }
}

/**
 * A node's whole evaluation as one generated function, `(e, args)`: for a function, its call
 * (arguments bound, every clause and else branch with its body and head inline); for a complete
 * rule its value, for a set rule its set (args unused). Returns the value, undefined, or MULTI when
 * the evaluator's general path must do it instead: a mock, a data override or coverage in effect, an expression that
 * needs the general path at run time, a conflict (which the general path reports). Evaluation is
 * pure, so the general path can start over. `some … in` loops over fresh variables are JS loops
 * around the rest of their body. (The function's type is WholeFn, in eval/host.ts.)
 *
 * Undefined when code generation is off, or a clause has a pattern parameter or an expression
 * without a generated form (the evaluator then runs clause by clause).
 */
export function generateWhole(node: RuleNode, ev: EvalHost): WholeFn | undefined {
  if (!enabled || node.rules.length === 0) return undefined;
  if (node.kind !== 'function' && node.kind !== 'complete' && node.kind !== 'set') return undefined;
  const g = new Gen(ev);
  const body = g.whole(node);
  if (body === undefined) return undefined;
  try {
    const make = new Function('K', 'MULTI', 'lookup', 'equal', 'compare', 'RObject', 'RSet', body) as (
      ...a: unknown[]
    ) => WholeFn;
    return make(g.K, MULTI, lookup, equal, compare, RObject, RSet);
  } catch {
    enabled = false;
    return undefined;
  }
}

/** The size of a part of a whole evaluation, in characters of source (see Gen.whole). */
let PART = 20000;
/** Sets the part size for nodes generated from now on (tests: 0 puts each clause in a part of its own). */
export function setWholePart(chars: number): void {
  PART = chars;
}

/** Frame slots of the variables in expressions (comprehension bodies included). */
function slotsOf(body: Body, into = new Set<number>()): Set<number> {
  for (const x of body)
    visitExpr(x, (t) => {
      if (t.type === 'var' && t.slot >= 0) into.add(t.slot);
    });
  return into;
}

/**
 * Operators spelled out: exactly the bodies of their implementations in builtins/operators.ts
 * (equal/neq by value.ts's `equal`, the orderings by `compare`, which for two doubles is plain `<`).
 * Mocks are checked before, as for any call.
 */
const INLINE: Record<string, ((a: string, b: string) => string) | undefined> = {
  equal: (a, b) => `equal(${a}, ${b})`,
  neq: (a, b) => `!equal(${a}, ${b})`,
  lt: (a, b) =>
    `(typeof ${a} === 'number' && typeof ${b} === 'number' ? ${a} < ${b} : compare(${a}, ${b}) < 0)`,
  lte: (a, b) =>
    `(typeof ${a} === 'number' && typeof ${b} === 'number' ? ${a} <= ${b} : compare(${a}, ${b}) <= 0)`,
  gt: (a, b) =>
    `(typeof ${a} === 'number' && typeof ${b} === 'number' ? ${a} > ${b} : compare(${a}, ${b}) > 0)`,
  gte: (a, b) =>
    `(typeof ${a} === 'number' && typeof ${b} === 'number' ? ${a} >= ${b} : compare(${a}, ${b}) >= 0)`,
};

/**
 * Builtins spelled out for the argument types they take: per builtin, a guard on the argument
 * values (JS expressions) and statements setting the result `x`, exactly what the implementation
 * (builtins/strings.ts, aggregates.ts, objects.ts, operators.ts) returns for such arguments.
 * Other arguments (errors included) go to the implementation.
 */
const FAST: Record<string, ((a: string[], x: string, join: string) => [string, string]) | undefined> = {
  upper: ([s], x) => [`typeof ${s} === 'string'`, `${x} = ${s}.toUpperCase();`],
  lower: ([s], x) => [`typeof ${s} === 'string'`, `${x} = ${s}.toLowerCase();`],
  startswith: ([s, p], x) => [
    `typeof ${s} === 'string' && typeof ${p} === 'string'`,
    `${x} = ${s}.startsWith(${p});`,
  ],
  endswith: ([s, p], x) => [
    `typeof ${s} === 'string' && typeof ${p} === 'string'`,
    `${x} = ${s}.endsWith(${p});`,
  ],
  contains: ([s, p], x) => [
    `typeof ${s} === 'string' && typeof ${p} === 'string'`,
    `${x} = ${s}.includes(${p});`,
  ],
  trim_prefix: ([s, p], x) => [
    `typeof ${s} === 'string' && typeof ${p} === 'string'`,
    `${x} = ${s}.startsWith(${p}) ? ${s}.slice(${p}.length) : ${s};`,
  ],
  trim_suffix: ([s, p], x) => [
    `typeof ${s} === 'string' && typeof ${p} === 'string'`,
    `${x} = ${p} !== '' && ${s}.endsWith(${p}) ? ${s}.slice(0, ${s}.length - ${p}.length) : ${s};`,
  ],
  concat: ([sep, xs], x, join) => [
    `typeof ${sep} === 'string' && Array.isArray(${xs}) && (${x} = ${join}(${xs}, ${sep})) !== undefined`,
    '',
  ],
  count: ([v], x) => [
    `Array.isArray(${v}) || ${v} instanceof RObject || ${v} instanceof RSet`,
    `${x} = Array.isArray(${v}) ? ${v}.length : ${v}.size;`,
  ],
  'object.get': ([o, k, d], x) => [
    `${o} instanceof RObject && typeof ${k} === 'string'`,
    `${x} = ${o}.get(${k}); if (${x} === undefined) ${x} = ${d};`,
  ],
  'internal.member_2': ([v, coll], x) => [`${coll} instanceof RSet`, `${x} = ${coll}.has(${v});`],
};

/** The keys of a constant, non-empty array of strings (object.get's path), else undefined. */
function constPath(t: Term): string[] | undefined {
  let keys: Value[];
  if (t.type === 'const' && Array.isArray(t.value)) keys = t.value;
  else if (t.type === 'array' && t.items.every((i) => i.type === 'scalar' || i.type === 'const'))
    keys = t.items.map((i) => (i as Term & { value: Value }).value);
  else return undefined;
  return keys.length > 0 && keys.every((k) => typeof k === 'string') ? (keys as string[]) : undefined;
}

/** concat's loop for an array: the strings joined, or undefined if one is not a string. */
function joinStrings(xs: Value[], sep: string): string | undefined {
  let out = '';
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (typeof x !== 'string') return undefined;
    out = i === 0 ? x : out + sep + x;
  }
  return out;
}

/**
 * A sprintf call's constant format split at its verbs, when it has only text, `%s`, `%d` and `%%`
 * and its second argument is an array term with one item per verb: per item, the text before it
 * and its verb, then the text after the last one. Undefined for any other call.
 */
function sprintfPieces(args: Term[]): (string | 's' | 'd')[][] | undefined {
  const [f, a] = args;
  if (args.length !== 2 || (f.type !== 'scalar' && f.type !== 'const') || typeof f.value !== 'string')
    return undefined;
  if (a.type !== 'array') return undefined;
  const format = f.value;
  const pieces: (string | 's' | 'd')[][] = [];
  let text = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch !== '%') {
      text += ch;
      continue;
    }
    const verb = format[++i];
    if (verb === '%') text += '%';
    else if (verb === 's' || verb === 'd') {
      pieces.push([text, verb]);
      text = '';
    } else return undefined;
  }
  pieces.push([text]);
  return pieces.length - 1 === a.items.length ? pieces : undefined;
}

class Gen {
  readonly K: unknown[] = [];
  private out: string[] = [];
  private n = 0;

  /** The statement that fails the current expression, and the one that hands expression i over. */
  fail = 'return -1;';
  general = (i: number): string => `return ${i};`;
  /** Record bindings on TRAIL (not in a whole call, whose frames are fresh and thrown away). */
  private trail = true;
  /**
   * In a whole evaluation: no mock and no data override is in effect, so none of its steps checks
   * for them. The function returns MULTI at once when one is (see whole), and nothing it calls
   * leaves one behind (`with` restores what it replaced before it returns).
   */
  private invariant = false;
  /**
   * In a whole evaluation: the numbers of the rules the current clause reads by a constant data ref.
   * Each part keeps such a rule's value in a local, `R<number>` (MULTI until read), so a rule read
   * several times in a part costs one `ruleAt` (its value is fixed for the evaluation's scope, and
   * so for one call of the whole evaluation).
   */
  private ruleLocals: Set<number> | undefined;

  constructor(private readonly ev: EvalHost) {}

  /** The source of generateWhole's function, or undefined. */
  whole(node: RuleNode): string | undefined {
    const fn = node.kind === 'function';
    const set = node.kind === 'set';
    const arity = fn ? node.rules[0].head.args?.length : 0;
    if (arity === undefined) return undefined;
    this.trail = false;
    this.invariant = true;
    this.general = () => 'return MULTI;';
    let locals = new Set<number>();
    // Clauses go into parts of at most PART characters of source, each a function
    // `(e, args, r) => r | MULTI` taking and returning the value so far: V8 does not optimize
    // very large functions.
    const parts: string[][] = [];
    const partLocals: Set<number>[] = [];
    let part: string[] = [];
    let size = 0;
    for (let ci = 0; ci < node.rules.length; ci++) {
      const C = `C${ci}`;
      this.out = [];
      this.ruleLocals = new Set();
      this.emit(`${C}: {`);
      let xi = 0;
      for (let x: Rule | undefined = node.rules[ci]; x; x = x.else) {
        const X = `X${ci}_${xi++}`;
        const params = fn ? x.head.args : [];
        if (!params || params.length !== arity) return undefined;
        this.emit(`${X}: {`, `const f = new Array(${x.nslots});`);
        const seen = new Set<number>();
        for (let i = 0; i < params.length; i++) {
          const p = params[i];
          if (p.type === 'var' && p.slot >= 0) {
            if (seen.has(p.slot)) this.emit(`if (!equal(f[${p.slot}], args[${i}])) break ${X};`);
            else this.emit(`f[${p.slot}] = args[${i}];`);
            seen.add(p.slot);
          } else if (p.type === 'scalar' || p.type === 'const') {
            this.emit(`if (${this.differs(p.value, `args[${i}]`)}) break ${X};`);
          } else return undefined; // a pattern: general unification
        }
        const head = set ? x.head.key : x.head.value;
        if (set && !head) return undefined;
        // a constant value stops the search at the first solution (as evalClauseGeneric)
        const constant = !head || head.type === 'scalar' || head.type === 'const';
        const got = `g${this.n++}`;
        if (!set && !constant) this.emit(`let ${got} = false;`);
        this.fail = `break ${X};`;
        const ok = this.wholeBody(x.body, 0, seen, () => {
          const U = this.fail;
          const v = head ? this.term(head, U, 'return MULTI;') : 'true';
          if (set) this.emit(`r.add(${v});`);
          else {
            // a conflict: the general path reports it
            this.emit(`if (r !== undefined && !equal(r, ${v})) return MULTI;`, `r = ${v};`);
            this.emit(constant ? `break ${C};` : `${got} = true;`);
          }
        });
        if (!ok) return undefined;
        if (!set && !constant) this.emit(`if (${got}) break ${C};`);
        this.emit('}');
      }
      this.emit('}');
      const code = this.out.join('\n');
      if (size > 0 && size + code.length > PART) {
        parts.push(part);
        partLocals.push(locals);
        part = [];
        locals = new Set();
        size = 0;
      }
      part.push(code);
      for (const id of this.ruleLocals) locals.add(id);
      size += code.length;
    }
    this.ruleLocals = undefined;
    parts.push(part);
    partLocals.push(locals);
    const src = parts.map((p, i) => {
      const decl = [...partLocals[i]].map((id) => `R${id} = MULTI`);
      return `function part${i}(e, args, r) {\n${decl.length ? `let ${decl.join(', ')};\n` : ''}${p.join('\n')}\nreturn r;\n}`;
    });
    src.push(
      'return function whole(e, args) {',
      'if (e.mocks !== undefined || e.covered !== undefined || e.dataOverrides !== undefined) return MULTI;',
      `let r = ${set ? 'new RSet()' : 'undefined'};`,
      ...parts.map((_, i) => `r = part${i}(e, args, r); if (r === MULTI) return MULTI;`),
    );
    const d = node.defaultRule?.head.value;
    if (d && !set) src.push(`if (r === undefined) r = e.firstValue(${this.k(d)}, []);`);
    src.push('return r;', '};');
    return src.join('\n');
  }

  /**
   * Emits expressions i… of a body, failing with `this.fail`, then `done()` for a solution. A
   * `some … in` loop over fresh variables becomes a JS loop around the rest; the slots the rest
   * may bind are put back before each element. False if an expression has no generated form.
   */
  private wholeBody(body: Body, i: number, seen: Set<number>, done: () => void): boolean {
    for (; i < body.length; i++) {
      const x = body[i];
      const b = x.expr;
      if (
        b.type === 'somein' &&
        !x.negated &&
        !x.with.length &&
        b.value.type === 'var' &&
        b.value.slot >= 0 &&
        !seen.has(b.value.slot) &&
        (!b.key || (b.key.type === 'var' && b.key.slot >= 0 && !seen.has(b.key.slot)))
      ) {
        const sv = b.value.slot;
        const sk = b.key && b.key.type === 'var' ? b.key.slot : -1;
        const c = this.term(b.domain, this.fail, this.general(i));
        const rest = [...slotsOf(body.slice(i + 1))].filter((s) => s !== sv && s !== sk);
        const saved = rest.map((s) => {
          const t = this.tmp();
          this.emit(`const ${t} = f[${s}];`);
          return [s, t] as const;
        });
        const [kind, es, len, ix, L] = [this.tmp(), this.tmp(), this.tmp(), this.tmp(), `L${this.n++}`];
        this.emit(
          `let ${kind} = 0, ${es};`,
          `if (Array.isArray(${c})) ${kind} = 1;`,
          `else if (${c} instanceof RObject) { ${kind} = 2; ${es} = ${c}.sortedEntries(); }`,
          `else if (${c} instanceof RSet) { ${kind} = 3; ${es} = ${c}.sorted(); }`,
          `const ${len} = ${kind} === 1 ? ${c}.length : ${kind} === 0 ? 0 : ${es}.length;`,
          `${L}: for (let ${ix} = 0; ${ix} < ${len}; ${ix}++) {`,
          // each element is a step of the evaluation's budget (see limits.ts)
          'if (--e.fuel < 0) e.refuel();',
          ...saved.map(([s, t]) => `f[${s}] = ${t};`),
          `if (${kind} === 1) { ${sk >= 0 ? `f[${sk}] = ${ix}; ` : ''}f[${sv}] = ${c}[${ix}]; }`,
          `else if (${kind} === 2) { ${sk >= 0 ? `f[${sk}] = ${es}[${ix}][0]; ` : ''}f[${sv}] = ${es}[${ix}][1]; }`,
          `else { ${sk >= 0 ? `f[${sk}] = ${es}[${ix}]; ` : ''}f[${sv}] = ${es}[${ix}]; }`,
        );
        const inner = new Set(seen);
        slotsOf([x], inner);
        const fail = this.fail;
        this.fail = `continue ${L};`;
        const ok = this.wholeBody(body, i + 1, inner, done);
        this.fail = fail;
        this.emit('}');
        return ok;
      }
      if (!this.exprBody(x, i)) return false;
      slotsOf([x], seen);
    }
    done();
    return true;
  }

  /** JS for "constant c is not equal to the value in v". */
  private differs(c: Value, v: string): string {
    // a string, boolean or null equals only itself
    if (c === null || typeof c === 'string' || typeof c === 'boolean') return `${v} !== ${this.lit(c)}`;
    return `!equal(${this.lit(c)}, ${v})`;
  }

  /**
   * `some k, v in coll` with fresh variables, as a loop: each element bound, then the rest of the
   * body (`run` from i + 1). Undefined if the expression is something else.
   */
  loop(x: Expr, i: number): string | undefined {
    const some = simpleSomeIn(x);
    if (!some) return undefined;
    const { sv, sk } = some;
    this.out = [];
    const G = this.general(i);
    this.emit(`if (f[${sv}] !== undefined${sk >= 0 ? ` || f[${sk}] !== undefined` : ''}) ${G}`);
    const c = this.term(some.domain, 'return false;', G);
    // the function's exit undoes these two bindings
    this.emit(`TRAIL.s[TRAIL.n++] = ${sv};`);
    if (sk >= 0) this.emit(`TRAIL.s[TRAIL.n++] = ${sk};`);
    // each element is a step of the evaluation's budget (see limits.ts)
    const next = `if (--e.fuel < 0) e.refuel(); if (run(e, f, k, ${i + 1})) return true;`;
    const bind = (kv: string, vv: string): string =>
      `${sk >= 0 ? `f[${sk}] = ${kv}; ` : ''}f[${sv}] = ${vv}; ${next}`;
    this.emit(`if (Array.isArray(${c})) {
for (let i = 0; i < ${c}.length; i++) { ${bind('i', `${c}[i]`)} }
} else if (${c} instanceof RObject) {
const es = ${c}.sortedEntries();
for (let i = 0; i < es.length; i++) { ${bind('es[i][0]', 'es[i][1]')} }
} else if (${c} instanceof RSet) {
const es = ${c}.sorted();
for (let i = 0; i < es.length; i++) { ${bind('es[i]', 'es[i]')} }
}
return false;`);
    return this.out.join('\n');
  }

  private k(x: unknown): string {
    let i = this.K.indexOf(x);
    if (i < 0) i = this.K.push(x) - 1;
    return `K[${i}]`;
  }

  private tmp(): string {
    return `t${this.n++}`;
  }

  private emit(...s: string[]): void {
    this.out.push(...s);
  }

  /** A constant as an expression: literals for strings, booleans, null and plain numbers. */
  private lit(v: Value): string {
    if (v === null || typeof v === 'boolean') return String(v);
    // in parentheses: `1.has(…)` would not parse (a guard that is false for a number still is code)
    if (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0)) return `(${String(v)})`;
    if (typeof v === 'string') return JSON.stringify(v);
    return this.k(v);
  }

  /** The code of expression i, or undefined if it is not simple. */
  expr(x: Expr, i: number): string | undefined {
    this.out = [];
    const ok = this.exprBody(x, i);
    return ok ? this.out.join('\n') : undefined;
  }

  private exprBody(x: Expr, i: number): boolean {
    if (x.with.length) return false;
    const GEN = this.general(i);
    const FAIL = this.fail;
    const b = x.expr;
    if (x.negated) {
      let t: Term | undefined;
      if (b.type === 'term') t = b.term;
      else if (
        b.type === 'callexpr' &&
        b.call.name !== 'eq' &&
        b.call.name !== 'assign' &&
        this.arity(b.call.name!) === b.call.args.length
      )
        t = b.call;
      if (!t) return false;
      const label = `L${this.n++}`;
      this.emit(`${label}: {`);
      const v = this.term(t, `break ${label};`, GEN);
      this.emit(`if (${v} !== false) ${FAIL}\n}`);
      return true;
    }
    switch (b.type) {
      case 'somedecl':
        return true;
      case 'term': {
        const v = this.term(b.term, FAIL, GEN);
        this.emit(`if (${v} === false) ${FAIL}`);
        return true;
      }
      case 'callexpr': {
        const c = b.call;
        if (c.name === 'eq' || c.name === 'assign') {
          const [l, r] = c.args;
          // as fast.ts: the right side's value is unified with the left; if the right side needs
          // the general path, the left side's value with the right
          const constR = r.type === 'scalar' || r.type === 'const';
          if (constR) {
            this.unify(l, this.lit((r as { value: Value }).value), i);
            return true;
          }
          const label = `L${this.n++}`;
          this.emit(`${label}: {\nR${label}: {`);
          const rv = this.term(r, FAIL, `break R${label};`);
          this.unify(l, rv, i);
          this.emit(`break ${label};\n}`);
          const lv = this.term(l, FAIL, GEN);
          this.unify(r, lv, i);
          this.emit('}');
          return true;
        }
        const arity = this.arity(c.name!);
        if (arity === c.args.length) {
          const v = this.call(c, c.args, FAIL, GEN);
          this.emit(`if (${v} === false) ${FAIL}`);
          return true;
        }
        if (arity !== undefined && arity + 1 === c.args.length) {
          const out = c.args[arity];
          if (out.type === 'var' && out.slot < 0) return false;
          const v = this.call(c, c.args.slice(0, arity), FAIL, GEN);
          this.unify(out, v, i);
          return true;
        }
        return false;
      }
      case 'every':
      case 'somein':
        break; // not simple (false): not compiled here
    }
    return false;
  }

  private arity(name: string): number | undefined {
    if (name.startsWith('data.')) return this.ev.tree.env.functions.get(name.slice(5));
    const d = DECLARED.get(name);
    return d?.args ? d.args.length : undefined;
  }

  /** `t = v` for the value in JS expression v: binds an unbound variable, else compares. */
  private unify(t: Term, v: string, i: number): void {
    const FAIL = this.fail;
    if (t.type === 'var') {
      if (t.slot < 0) {
        this.emit(this.general(i));
        return;
      }
      const c = this.tmp();
      this.emit(`const ${c} = f[${t.slot}];`);
      if (t.wildcard) this.emit(`if (${c} !== undefined && !equal(${c}, ${v})) ${FAIL}`);
      else
        this.emit(
          `if (${c} === undefined) { f[${t.slot}] = ${v};${this.trail ? ` TRAIL.s[TRAIL.n++] = ${t.slot};` : ''} } else if (!equal(${c}, ${v})) ${FAIL}`,
        );
      return;
    }
    if (t.type === 'scalar' || t.type === 'const') {
      this.emit(`if (!equal(${this.lit(t.value)}, ${v})) ${FAIL}`);
      return;
    }
    const x = this.term(t, FAIL, this.general(i));
    this.emit(`if (!equal(${x}, ${v})) ${FAIL}`);
  }

  /**
   * Emits the evaluation of a term and returns a JS expression for its value. `U` is the statement
   * to run if it is undefined, `M` if it needs the general path.
   */
  private term(t: Term, U: string, M: string): string {
    switch (t.type) {
      case 'scalar':
      case 'const':
        return this.lit(t.value);
      case 'var': {
        if (t.slot < 0) return this.leaf(t, U, M);
        const x = this.tmp();
        this.emit(`const ${x} = f[${t.slot}]; if (${x} === undefined) ${M}`);
        return x;
      }
      case 'ref':
        return this.ref(t, U, M);
      case 'call':
        return this.call(t, t.args, U, M);
      case 'array': {
        const items = t.items.map((x) => this.term(x, U, M));
        const x = this.tmp();
        this.emit(`const ${x} = [${items.join(', ')}];`);
        return x;
      }
      case 'object': {
        // as fast.ts's closure: each key, then its value, in order; then the object
        const pairs = t.items.map(([k, v]) => [this.term(k, U, M), this.term(v, U, M)]);
        const x = this.tmp();
        this.emit(`const ${x} = new RObject();`, ...pairs.map(([k, v]) => `${x}.set(${k}, ${v});`));
        return x;
      }
      default:
        return this.leaf(t, U, M);
    }
  }

  /** A term through its value function. */
  private leaf(t: Term, U: string, M: string): string {
    const x = this.tmp();
    this.emit(
      `const ${x} = ${this.k(valueFn(t, this.ev))}(e, f); if (${x} === MULTI) ${M} if (${x} === undefined) ${U}`,
    );
    return x;
  }

  private ref(t: Term & { type: 'ref' }, U: string, M: string): string {
    const [head, ...keys] = t.terms;
    const x = this.tmp();
    if (head.type === 'var') {
      if (head.slot >= 0) this.emit(`let ${x} = f[${head.slot}]; if (${x} === undefined) ${M}`);
      else if (head.name === 'input') this.emit(`let ${x} = e.input; if (${x} === undefined) ${U}`);
      else if (head.name === 'data') {
        const at = this.ruleRef(t, x, U, M);
        if (at < 0) return this.leaf(t, U, M); // the rule tree walk of fast.ts
        keys.splice(0, at);
      } else return this.leaf(t, U, M);
    } else {
      const h = this.term(head, U, M);
      this.emit(`let ${x} = ${h};`);
    }
    for (const key of keys) {
      const kv = this.term(key, U, M);
      // a plain string key of an object: RObject.get's first case
      const plain =
        (key.type === 'scalar' || key.type === 'const') &&
        typeof key.value === 'string' &&
        key.value.charCodeAt(0) !== 0;
      this.emit(
        plain
          ? `${x} = ${x} instanceof RObject ? ${x}.get(${kv}) : lookup(${x}, ${kv}); if (${x} === undefined) ${U}`
          : `${x} = lookup(${x}, ${kv}); if (${x} === undefined) ${U}`,
      );
    }
    return x;
  }

  /**
   * `data.a.b…` reaching a rule by constant string keys (as fast.ts's compileDataRef): emits `x` =
   * the rule's value, through the evaluation's cache by the node's number; returns how many keys
   * that took, or -1 for other data refs. `with data…` overrides take the general path.
   */
  private ruleRef(t: Term & { type: 'ref' }, x: string, U: string, M: string): number {
    const keys = t.terms.slice(1);
    let node: RuleNode | undefined = this.ev.tree.root;
    const path: string[] = [];
    for (const k of keys) {
      if (!node || !node.virtual || node.kind !== undefined) break;
      if ((k.type !== 'scalar' && k.type !== 'const') || typeof k.value !== 'string') return -1;
      path.push(k.value);
      node = node.children.get(k.value);
    }
    if (!node || !node.virtual || node.kind === undefined) return -1;
    const id = this.ev.nodeId(node);
    if (id < 0) return -1;
    const at = `e.ruleAt(${this.k({ node, id, path, whole: undefined, leaf: undefined, static: undefined } satisfies RuleRef)})`;
    const locals = this.ruleLocals;
    locals?.add(id);
    if (!this.invariant) this.emit(`if (e.dataOverrides !== undefined) ${M}`);
    // a cache miss of a leaf rule whose value is not kept across evaluations (r.static false, so
    // r.leaf true and the id valid): its whole evaluation from this call site, as ruleAt would
    // (ruleAt's own site is shared by every rule); anything else through ruleAt
    const r = at.slice('e.ruleAt('.length, -1);
    const w = this.tmp();
    const get =
      `${x} = e.ruleCached(${r}); if (${x} === ${this.k(NOT_CACHED)}) { const ${w} = ${r}.whole; ` +
      `if (${r}.static === false && ${w} !== undefined && ${w}.fn && e.covered === undefined) { ` +
      `${x} = ${w}.fn(e, undefined); if (${x} === MULTI) ${x} = e.ruleMissed(${r}); else e.ruleStore(${r}, ${x}); } ` +
      `else ${x} = ${at}; }`;
    this.emit(
      locals
        ? `let ${x}; if (R${id} !== MULTI) ${x} = R${id}; else { ${get} R${id} = ${x}; }`
        : `let ${x}; ${get}`,
      `if (${x} === undefined) ${U}`,
    );
    return path.length;
  }

  private call(c: Call, argTerms: Term[], U: string, M: string): string {
    const name = c.name!;
    const fallback = (): string =>
      this.leaf(argTerms === c.args ? c : ({ ...c, args: argTerms } as Call), U, M);
    let target: string;
    if (name.startsWith('data.')) {
      const node = this.ev.tree.findNode(name.slice(5).split('.'));
      if (!node) return fallback();
      target = `e.callAt(${this.k({ node, whole: undefined } satisfies FnRef)}, `;
    } else {
      const d = DECLARED.get(name);
      const impl = IMPLS.get(name);
      if (!d || d.relation || d.nondeterministic || d.family === 'core' || !impl) return fallback();
      if (d.args && d.args.length !== argTerms.length) return fallback();
      target = `${this.k(impl)}(`;
    }
    if (!this.invariant) this.emit(`if (e.mocks) ${M}`);
    const pieces = name === 'sprintf' ? sprintfPieces(argTerms) : undefined;
    if (pieces) {
      const [f, a] = argTerms as [Term & { value: string }, Term & { type: 'array' }];
      return this.sprintf(c, f.value, pieces, a.items, target, U, M);
    }
    const args = argTerms.map((a) => this.term(a, U, M));
    const x = this.tmp();
    if ((name === 'equal' || name === 'neq') && args.length === 2) {
      // against a string, boolean or null constant, equal() is ===
      const lit = argTerms.findIndex(
        (a) =>
          (a.type === 'scalar' || a.type === 'const') &&
          (a.value === null || typeof a.value === 'string' || typeof a.value === 'boolean'),
      );
      if (lit >= 0) {
        this.emit(`const ${x} = ${args[0]} ${name === 'equal' ? '===' : '!=='} ${args[1]};`);
        return x;
      }
    }
    const inline = INLINE[name];
    if (inline && args.length === 2) {
      // never undefined, never throws
      this.emit(`const ${x} = ${inline(args[0], args[1])};`);
      return x;
    }
    const fast = FAST[name];
    const guarded = fast && fast(args, x, this.k(joinStrings));
    const path = name === 'object.get' && args.length === 3 ? constPath(argTerms[1]) : undefined;
    if (path) {
      // a constant path of string keys through objects: read inline; the builtin for anything else
      // (not an object, an array or set on the way); x stays undefined for the builtin
      const [o, , d] = args;
      const g = this.tmp();
      const cur = this.tmp();
      let s = `let ${x}; ${g}: { if (!(${o} instanceof RObject)) break ${g}; let ${cur} = ${o}.get(${this.lit(path[0])});`;
      for (let i = 1; i < path.length; i++)
        s += ` if (${cur} !== undefined) { if (!(${cur} instanceof RObject)) break ${g}; ${cur} = ${cur}.get(${this.lit(path[i])}); }`;
      this.emit(
        `${s} ${x} = ${cur} === undefined ? ${d} : ${cur}; }`,
        `if (${x} === undefined) try { ${x} = ${target}[${args.join(', ')}], e); } catch (err) { e.builtinFailed(${JSON.stringify(name)}, err, ${this.k(c.loc)}); ${x} = undefined; }`,
      );
    } else if (name.startsWith('data.')) {
      // the callee's whole evaluation called here once it has one (a call site of its own, not
      // callAt's, which all functions share), the rest of callAt when it has none or answers MULTI
      const ref = target.slice('e.callAt('.length, -2);
      const [a, w] = [this.tmp(), this.tmp()];
      this.emit(
        `const ${a} = [${args.join(', ')}], ${w} = ${ref}.whole;`,
        `let ${x} = ${w} !== undefined && ${w}.fn ? ${w}.fn(e, ${a}) : e.callAt(${ref}, ${a});`,
        `if (${x} === MULTI) ${x} = e.callMissed(${ref}, ${a});`,
      );
    } else
      this.emit(
        `let ${x};${guarded ? ` if (${guarded[0]}) { ${guarded[1]} } else` : ''} try { ${x} = ${target}[${args.join(', ')}], e); } catch (err) { e.builtinFailed(${JSON.stringify(name)}, err, ${this.k(c.loc)}); ${x} = undefined; }`,
      );
    this.emit(`if (${x} === undefined) ${U}`);
    return x;
  }

  /**
   * `sprintf(format, [a, b, …])` with a constant format of text, `%s`, `%d` and `%%` only: the
   * items' values, then the string concatenated inline when every `%s` item is a string and every
   * `%d` item an integer (sprintf's answer for those: the string, and the integer written as
   * formatNumber writes it, String(n)); anything else goes to the builtin with the same values.
   */
  private sprintf(
    c: Call,
    format: string,
    pieces: (string | 's' | 'd')[][],
    items: Term[],
    target: string,
    U: string,
    M: string,
  ): string {
    const vs = items.map((t) => this.term(t, U, M));
    const guards: string[] = [];
    let cat = '';
    for (let i = 0; i < pieces.length; i++) {
      const [text, verb] = pieces[i];
      if (text) cat += (cat ? ' + ' : '') + JSON.stringify(text);
      if (verb === undefined) continue;
      const v = vs[i];
      guards.push(
        verb === 's' ? `typeof ${v} === 'string'` : `typeof ${v} === 'number' && Number.isInteger(${v})`,
      );
      cat += (cat ? ' + ' : '') + (verb === 's' ? v : `String(${v})`);
    }
    const x = this.tmp();
    const fmt = this.lit(format);
    this.emit(
      `let ${x}; if (${guards.length ? guards.join(' && ') : 'true'}) { ${x} = ${cat || '""'}; } else try { ${x} = ${target}[${fmt}, [${vs.join(', ')}]], e); } catch (err) { e.builtinFailed("sprintf", err, ${this.k(c.loc)}); ${x} = undefined; }`,
      `if (${x} === undefined) ${U}`,
    );
    return x;
  }
}
