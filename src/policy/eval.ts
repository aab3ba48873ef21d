/**
 * Top-down evaluator with backtracking. Continuation-passing style: every step takes a continuation
 * `k` that returns true to stop the search (used by `not`, `every`, and constant-valued rules).
 * Bindings live in per-rule frames indexed by the compiler's slots and are undone on return.
 */
import type { Body, Call, CallExpr, Expr, Location, Module, Rule, Term, Var } from './ast.js';
import { DECLARED, IMPLS, RELATIONS } from './builtins/registry.js';
import type { BuiltinContext } from './builtins/types.js';
import type { CompiledQuery, RuleNode } from './compiler.js';
import { BuiltinError, RegoError } from './errors.js';
import {
  MULTI,
  bodyFn,
  compiledBody,
  lookup,
  paramBinder,
  valueFn,
  type CompiledBody,
  type ValueFn,
} from './fast.js';
import { generateWhole, hotThreshold, type WholeFn } from './jit.js';
import { CHUNK, type Limits } from './limits.js';
import { RObject, RSet, equal, keyOf, toRegoString, type Value } from './value.js';

type Frame = (Value | undefined)[];
type K = () => boolean;
type VK = (v: Value) => boolean;

export interface EvalOptions {
  input?: Value;
  /** Builtin errors abort evaluation instead of making the expression undefined. */
  strictBuiltinErrors?: boolean;
  /** Receives print() output. */
  print?: (msg: string, loc: Location) => void;
  /** Fixed clock for time.now_ns (nanoseconds). */
  now?: bigint;
  /** Receives every rule (clause, else branch, default) whose body held (rule-level coverage). */
  covered?: (rule: Rule) => void;
  /** Bounds of this evaluation (see limits.ts); none when not given. */
  limits?: Limits;
}

export interface QuerySolution {
  bindings: Map<string, Value>;
  /** Value of each query expression, in source order. */
  expressions: Value[];
}

/**
 * What evaluation needs of a compiled policy: the rule tree, the modules (for error excerpts) and
 * user function arities. A Compiler is one; so is a policy read back from the compile cache.
 */
export interface PolicyTree {
  readonly root: RuleNode;
  readonly modules: Module[];
  readonly env: { functions: Map<string, number> };
  findNode(path: string[]): RuleNode | undefined;
}

const NOT_CACHED = Symbol('uncached');

interface Mock {
  fn?: string;
  value?: Value;
}

export class Evaluator implements BuiltinContext {
  /** @internal (read by fast.ts, like the other members without `private` below) */
  input: Value | undefined;
  private vcache: ValueCache;
  /** @internal */
  dataOverrides: Map<string, Value> | undefined;
  /** @internal */
  mocks: Map<string, Mock> | undefined;
  private cacheMap: Map<string, unknown> | undefined;
  private nowNs: bigint | undefined;
  private readonly strict: boolean;
  private readonly printer?: (msg: string, loc: Location) => void;
  private printLoc: Location | undefined;
  /** @internal */
  readonly covered?: (rule: Rule) => void;
  /**
   * @internal Steps left before the next budget check. Every loop (here, in fast.ts and in
   * generated code) does `if (--e.fuel < 0) e.refuel();`: a decrement and a compare per element.
   */
  fuel: number;
  /** Steps of the chunks before the current one, and the current chunk's size. */
  private spent = 0;
  private chunk: number;
  private readonly maxSteps: number;
  private readonly maxMs: number;
  /** Date.now() past which the evaluation stops; set at the first check (see refuel). */
  private deadline = 0;

  constructor(
    readonly tree: PolicyTree,
    readonly data: Value,
    opts: EvalOptions = {},
  ) {
    this.input = opts.input;
    this.vcache = new ValueCache(tree);
    this.strict = opts.strictBuiltinErrors ?? false;
    this.printer = opts.print;
    this.nowNs = opts.now;
    this.covered = opts.covered;
    this.maxSteps = opts.limits?.steps ?? Infinity;
    this.maxMs = opts.limits?.ms ?? Infinity;
    this.chunk = this.fuel = Math.min(CHUNK, this.maxSteps);
  }

  /** Charges `n` steps of work (builtins: in proportion to what they are about to do). */
  charge(n: number): void {
    this.fuel -= n;
    if (this.fuel < 0) this.refuel();
  }

  /**
   * @internal The current chunk of steps is used up: stop the evaluation if it went over its
   * step budget or its time, else hand out the next chunk. The clock is first read here, after
   * the first chunk (most decisions never get this far): the time limit counts from then, so a
   * decision may run a chunk's worth of steps beyond it. Date.now(), not performance.now(): the
   * first use of `performance` loads perf_hooks, ~10 ms in a fresh process; milliseconds suffice.
   */
  refuel(): void {
    this.spent += this.chunk - this.fuel;
    if (this.spent > this.maxSteps)
      throw new RegoError(
        'eval_cancel_error',
        `evaluation exceeded its budget of ${this.maxSteps} steps (a loop or a builtin did too much work)`,
      );
    if (this.maxMs !== Infinity) {
      const now = Date.now();
      if (this.deadline === 0) this.deadline = now + this.maxMs;
      else if (now > this.deadline)
        throw new RegoError('eval_cancel_error', `evaluation exceeded its time limit of ${this.maxMs} ms`);
    }
    this.chunk = this.fuel = Math.min(CHUNK, this.maxSteps - this.spent);
  }

  /** Steps used so far (tests, and the bench). */
  get steps(): number {
    return this.spent + this.chunk - this.fuel;
  }

  /** Per-evaluation cache (nondeterministic builtins, compiled patterns); created on first use. */
  get cache(): Map<string, unknown> {
    return (this.cacheMap ??= new Map());
  }

  /** The evaluation's clock, read once on first use (most decisions never ask). */
  get now(): bigint {
    return (this.nowNs ??= BigInt(Date.now()) * 1000000n);
  }

  private get sources(): Map<string, string> {
    return new Map(this.tree.modules.map((m) => [m.source.file, m.source.text]));
  }

  print(msg: string): void {
    if (this.printer) this.printer(msg, this.printLoc!);
  }
  trace(msg: string): void {
    this.print(msg);
  }

  private error(
    code: 'eval_conflict_error' | 'eval_type_error' | 'eval_builtin_error' | 'rego_type_error',
    msg: string,
    loc?: Location,
  ): RegoError {
    return new RegoError(code, msg, loc, loc ? this.sources.get(loc.file) : undefined);
  }

  // ------------------------------------------------------------------ queries

  evalQuery(q: CompiledQuery, onSolution: (s: QuerySolution) => boolean | void): void {
    const f: Frame = new Array(q.nslots);
    const values: Value[] = new Array(q.body.length);
    const order = q.body.map((e) => e.index);
    const step = (i: number): boolean => {
      if (i === q.body.length) {
        const bindings = new Map<string, Value>();
        for (const [name, slot] of q.vars) {
          const v = f[slot];
          if (v !== undefined) bindings.set(name, v);
        }
        const expressions: Value[] = [];
        order.forEach((idx, j) => (expressions[idx] = values[j]));
        return onSolution({ bindings, expressions }) === true;
      }
      const e = q.body[i];
      if (q.capture[i]) {
        return this.evalExprValue(e, f, (v) => {
          if (v === false && q.checkCapture) return false;
          values[i] = v;
          return step(i + 1);
        });
      }
      values[i] = true;
      return this.evalExprGeneric(e, f, () => step(i + 1));
    };
    step(0);
  }

  /** The value of a term expression or of a call written without its output argument. */
  private evalExprValue(e: Expr, f: Frame, k: VK): boolean {
    const x = e.expr;
    const value = (vk: VK): boolean =>
      x.type === 'term' ? this.evalTerm(x.term, f, vk) : this.evalCall((x as CallExpr).call, f, vk);
    if (!e.with.length) return value(k);
    let got: Value = null;
    return this.evalWith(
      e,
      f,
      () => k(got),
      (k2) => value((v) => ((got = v), k2())),
    );
  }

  // ------------------------------------------------------------------ bodies and expressions

  /** Evaluates a body from expression i (compiled by fast.ts when i is 0). */
  evalBody(body: Body, i: number, f: Frame, k: K): boolean {
    if (i === 0) return bodyFn(body, this)(this, f, k);
    if (i === body.length) return k();
    if (i === body.length - 1) return this.evalExprGeneric(body[i], f, k);
    return this.evalExprGeneric(body[i], f, () => this.evalBody(body, i + 1, f, k));
  }

  /** @internal The general evaluation of one expression. */
  evalExprGeneric(e: Expr, f: Frame, k: K): boolean {
    if (e.with.length) return this.evalWith(e, f, k);
    if (e.negated) {
      let found = false;
      this.evalExprInner(e, f, () => (found = true));
      return found ? false : k();
    }
    return this.evalExprInner(e, f, k);
  }

  private evalExprInner(e: Expr, f: Frame, k: K): boolean {
    const x = e.expr;
    switch (x.type) {
      case 'term':
        return this.evalTerm(x.term, f, (v) => (v === false ? false : k()));
      case 'callexpr':
        return this.evalCallExpr(x.call, f, k);
      case 'somein':
        return this.evalTerm(x.domain, f, (coll) =>
          this.iterate(coll, (kk, vv) =>
            x.key
              ? this.unifyValue(x.key, kk, f, () => this.unifyValue(x.value, vv, f, k))
              : this.unifyValue(x.value, vv, f, k),
          ),
        );
      case 'every':
        return this.evalTerm(x.domain, f, (coll) => {
          let ok = true;
          this.iterate(coll, (kk, vv) => {
            const body = (): boolean => this.evalBody(x.body, 0, f, () => true);
            const sat = x.key
              ? this.unifyValue(x.key, kk, f, () => this.unifyValue(x.value, vv, f, body))
              : this.unifyValue(x.value, vv, f, body);
            if (!sat) {
              ok = false;
              return true;
            }
            return false;
          });
          return ok ? k() : false;
        });
      case 'somedecl':
        return k();
    }
  }

  /** Calls fn(key, value) for each element; arrays give index keys, sets give the element twice. */
  private iterate(coll: Value, fn: (k: Value, v: Value) => boolean): boolean {
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length; i++) {
        if (--this.fuel < 0) this.refuel();
        if (fn(i, coll[i])) return true;
      }
    } else if (coll instanceof RObject) {
      for (const [k, v] of coll.sortedEntries()) {
        if (--this.fuel < 0) this.refuel();
        if (fn(k, v)) return true;
      }
    } else if (coll instanceof RSet) {
      for (const v of coll.sorted()) {
        if (--this.fuel < 0) this.refuel();
        if (fn(v, v)) return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ with

  private evalWith(
    e: Expr,
    f: Frame,
    k: K,
    inner: (k: K) => boolean = (k2) => this.evalExprInner(e, f, k2),
  ): boolean {
    // Evaluate the replacement values first (each must be defined).
    const vals: (Value | Mock)[] = [];
    for (const w of e.with) {
      const vt = w.value;
      if (vt.type === 'var' && vt.name.startsWith('$fn:')) {
        vals.push({ fn: vt.name.slice(4) } as Mock);
        continue;
      }
      let got: Value | undefined;
      this.evalTerm(vt, f, (v) => {
        got = v;
        return true;
      });
      if (got === undefined) return false;
      vals.push(got);
    }
    const savedInput = this.input;
    const savedData = this.dataOverrides;
    const savedMocks = this.mocks;
    const savedCache = this.vcache;
    let input = this.input;
    let data = this.dataOverrides;
    let mocks = this.mocks;
    e.with.forEach((w, i) => {
      const head = w.target.terms[0] as Var;
      const v = vals[i];
      if (head.name.startsWith('$fn:')) {
        mocks = new Map(mocks ?? []);
        mocks.set(head.name.slice(4), isMock(v) ? v : { value: v as Value });
        return;
      }
      const path: Value[] = [];
      for (const t of w.target.terms.slice(1)) {
        let kv: Value | undefined;
        this.evalTerm(t, f, (x) => {
          kv = x;
          return true;
        });
        path.push(kv ?? null);
      }
      if (head.name === 'input') input = setPath(input, path, v as Value);
      else {
        data = new Map(data ?? []);
        const key = path.map((p) => String(p)).join('\u0000');
        // a new override replaces any deeper one
        for (const k2 of [...data.keys()])
          if (k2 === key || k2.startsWith(key + '\u0000') || key === '') data.delete(k2);
        data.set(key, v as Value);
      }
    });
    const apply = (): void => {
      this.input = input;
      this.dataOverrides = data;
      this.mocks = mocks;
      this.vcache = new ValueCache(this.tree);
    };
    const restore = (): void => {
      this.input = savedInput;
      this.dataOverrides = savedData;
      this.mocks = savedMocks;
      this.vcache = savedCache;
    };
    apply();
    const innerCache = this.vcache;
    try {
      const run = (): boolean => {
        if (e.negated) {
          let found = false;
          inner(() => (found = true));
          return found;
        }
        return inner(() => {
          restore();
          try {
            return k();
          } finally {
            apply();
            this.vcache = innerCache;
          }
        });
      };
      const r = run();
      if (e.negated) {
        restore();
        return r ? false : k();
      }
      return r;
    } finally {
      restore();
    }
  }

  // ------------------------------------------------------------------ terms

  evalTerm(t: Term, f: Frame, k: VK): boolean {
    const v = valueFn(t, this)(this, f);
    if (v !== MULTI) return v === undefined ? false : k(v);
    return this.evalTermGeneric(t, f, k);
  }

  /** @internal The single value of a term by the general path (comprehensions). */
  firstValueGeneric(t: Term, f: Frame): Value | undefined {
    let out: Value | undefined;
    this.evalTermGeneric(t, f, (v) => ((out = v), true));
    return out;
  }

  private evalTermGeneric(t: Term, f: Frame, k: VK): boolean {
    switch (t.type) {
      case 'scalar':
      case 'const':
        return k(t.value);
      case 'var': {
        const v = f[t.slot];
        if (v === undefined) throw this.error('eval_type_error', `var ${t.name} is unbound`, t.loc);
        return k(v);
      }
      case 'ref':
        return this.evalRef(t.terms, f, k);
      case 'array':
        return this.evalItems(t.items, 0, f, [], (items) => k(items));
      case 'set':
        return this.evalItems(t.items, 0, f, [], (items) => k(RSet.from(items)));
      case 'object': {
        const flat: Term[] = [];
        for (const [a, b] of t.items) flat.push(a, b);
        return this.evalItems(flat, 0, f, [], (items) => {
          const o = new RObject();
          for (let i = 0; i < items.length; i += 2) o.set(items[i], items[i + 1]);
          return k(o);
        });
      }
      case 'call':
        return this.evalCall(t, f, k);
      case 'arraycomp': {
        const out: Value[] = [];
        this.evalBody(t.body, 0, f, () => this.evalTerm(t.term, f, (v) => (out.push(v), false)));
        return k(out);
      }
      case 'setcomp': {
        const out = new RSet();
        this.evalBody(t.body, 0, f, () => this.evalTerm(t.term, f, (v) => (out.add(v), false)));
        return k(out);
      }
      case 'objectcomp': {
        const out = new RObject();
        this.evalBody(t.body, 0, f, () =>
          this.evalTerm(t.key, f, (kv) =>
            this.evalTerm(t.value, f, (vv) => {
              const prev = out.get(kv);
              if (prev !== undefined && !equal(prev, vv))
                throw this.error('eval_conflict_error', 'object keys must be unique', t.loc);
              out.set(kv, vv);
              return false;
            }),
          ),
        );
        return k(out);
      }
    }
  }

  private evalItems(
    items: Term[],
    i: number,
    f: Frame,
    acc: Value[],
    k: (items: Value[]) => boolean,
  ): boolean {
    // Fast path: items that produce exactly one value need no continuation nesting.
    while (i < items.length) {
      const t = items[i];
      if (t.type === 'scalar' || t.type === 'const') acc.push(t.value);
      else if (t.type === 'var' && f[t.slot] !== undefined) acc.push(f[t.slot]!);
      else break;
      i++;
    }
    if (i === items.length) return k(acc);
    return this.evalTerm(items[i], f, (v) => this.evalItems(items, i + 1, f, [...acc, v], k));
  }

  /** The single value of a term, or undefined (first value if it has several). */
  firstValue(t: Term, f: Frame): Value | undefined {
    if (t.type === 'scalar' || t.type === 'const') return t.value;
    if (t.type === 'var') return f[t.slot];
    let out: Value | undefined;
    this.evalTerm(t, f, (v) => ((out = v), true));
    return out;
  }

  // ------------------------------------------------------------------ refs

  private evalRef(terms: Term[], f: Frame, k: VK): boolean {
    const head = terms[0];
    if (head.type === 'var') {
      if (head.slot < 0) {
        if (head.name === 'input')
          return this.input === undefined ? false : this.walk(this.input, terms, 1, f, k);
        if (head.name === 'data') return this.evalData(this.tree.root, this.data, [], terms, 1, f, k);
        throw this.error('eval_type_error', `unknown global ${head.name}`, head.loc);
      }
      const v = f[head.slot];
      if (v === undefined) throw this.error('eval_type_error', `var ${head.name} is unbound`, head.loc);
      return this.walk(v, terms, 1, f, k);
    }
    return this.evalTerm(head, f, (v) => this.walk(v, terms, 1, f, k));
  }

  /** True if the term has variables that are not yet bound in positions a value could bind. */
  private unbound(t: Term, f: Frame): boolean {
    switch (t.type) {
      case 'var':
        return f[t.slot] === undefined;
      case 'array':
        return t.items.some((x) => this.unbound(x, f));
      case 'object':
        return t.items.some(([a, b]) => this.unbound(a, f) || this.unbound(b, f));
      default:
        return false;
    }
  }

  private walk(v: Value, terms: Term[], i: number, f: Frame, k: VK): boolean {
    if (i === terms.length) return k(v);
    const key = terms[i];
    if (key.type === 'scalar' || key.type === 'const') {
      const c = lookup(v, key.value);
      return c === undefined ? false : this.walk(c, terms, i + 1, f, k);
    }
    if (this.unbound(key, f)) {
      if (v === null || typeof v !== 'object') return false;
      return this.iterate(v, (kk, vv) =>
        this.unifyValue(key, kk, f, () => this.walk(vv, terms, i + 1, f, k)),
      );
    }
    return this.evalTerm(key, f, (kv) => {
      const c = lookup(v, kv);
      return c === undefined ? false : this.walk(c, terms, i + 1, f, k);
    });
  }

  private overrideAt(path: string[]): Value | undefined | typeof NOT_CACHED {
    const o = this.dataOverrides!;
    const key = path.join('\u0000');
    return o.has(key) ? o.get(key) : NOT_CACHED;
  }

  private evalData(
    node: RuleNode | undefined,
    base: Value | undefined,
    path: string[],
    terms: Term[],
    i: number,
    f: Frame,
    k: VK,
  ): boolean {
    if (this.dataOverrides) {
      const o = this.overrideAt(path);
      if (o !== NOT_CACHED) return this.walk(o as Value, terms, i, f, k);
      if (!node || !node.virtual) {
        const patched = this.patchBase(base, path);
        return patched === undefined ? false : this.walk(patched, terms, i, f, k);
      }
    }
    if (!node || (!node.virtual && !this.dataOverrides))
      return base === undefined ? false : this.walk(base, terms, i, f, k);
    if (node.kind !== undefined || i === terms.length) {
      const v = this.nodeValue(node, base, path);
      return v === undefined ? false : this.walk(v, terms, i, f, k);
    }
    const key = terms[i];
    const step = (kv: Value): boolean => {
      if (typeof kv !== 'string') return this.walk(base ?? null, terms, i, f, k);
      const child = node!.children.get(kv);
      const cb = base instanceof RObject ? base.get(kv) : undefined;
      return this.evalData(child, cb, [...path, kv], terms, i + 1, f, k);
    };
    if (key.type === 'scalar' || key.type === 'const') return step(key.value);
    if (this.unbound(key, f)) {
      const names = new Set<string>();
      for (const [n, c] of node.children) if (c.virtual) names.add(n);
      if (base instanceof RObject) for (const kk of base.keys()) if (typeof kk === 'string') names.add(kk);
      for (const n of [...names].sort()) {
        if (--this.fuel < 0) this.refuel();
        if (this.unifyValue(key, n, f, () => step(n))) return true;
      }
      return false;
    }
    return this.evalTerm(key, f, step);
  }

  /** The full value of a data node: rules merged with children and base documents. Cached per evaluation. */
  /** @internal The full value of a data node (cached per evaluation). */
  nodeValue(node: RuleNode, base: Value | undefined, path: string[]): Value | undefined {
    const cached = this.vcache.get(node);
    if (cached !== NOT_CACHED) return cached;
    let v: Value | undefined;
    if (node.kind === 'function') {
      const all = [...node.rules, ...(node.defaultRule ? [node.defaultRule] : [])];
      v = all.every((r) => r.head.args!.length === 0)
        ? this.callFunction('data.' + node.path.join('.'), [], all[0].loc)
        : undefined;
    } else if (node.kind !== undefined) {
      v = this.ruleValue(node);
      if (node.children.size && (v === undefined || v instanceof RObject)) {
        const o = v instanceof RObject ? v.clone() : new RObject();
        let any = v !== undefined;
        for (const [name, c] of node.children) {
          if (!c.virtual) continue;
          const cv = this.nodeValueOrOverride(c, undefined, [...path, name]);
          if (cv !== undefined) {
            any = true;
            mergeInto(o, name, cv, this, c);
          }
        }
        v = any ? o : undefined;
      }
    } else {
      const o = base instanceof RObject ? base.clone() : new RObject();
      for (const [name, c] of node.children) {
        if (!c.virtual) continue;
        const cv = this.nodeValueOrOverride(c, base instanceof RObject ? base.get(name) : undefined, [
          ...path,
          name,
        ]);
        if (cv !== undefined) o.set(name, cv);
      }
      if (this.dataOverrides) applyOverrides(o, path, this.dataOverrides);
      v = o;
    }
    this.vcache.set(node, v);
    return v;
  }

  /** @internal A rule node's number in this tree's value caches, or -1. */
  nodeId(node: RuleNode): number {
    return this.vcache.id(node);
  }

  /** Applies `with data.…` overrides below `path` to a base document. */
  private patchBase(base: Value | undefined, path: string[]): Value | undefined {
    const prefix = path.join('\u0000');
    let out = base;
    for (const [key, v] of this.dataOverrides!) {
      if (path.length ? !key.startsWith(prefix + '\u0000') : key === '') continue;
      const rel = key.split('\u0000').slice(path.length);
      out = setPath(out, rel, v);
    }
    return out;
  }

  private nodeValueOrOverride(c: RuleNode, base: Value | undefined, path: string[]): Value | undefined {
    if (this.dataOverrides) {
      const o = this.overrideAt(path);
      if (o !== NOT_CACHED) return o as Value;
    }
    return this.nodeValue(c, base, path);
  }

  // ------------------------------------------------------------------ rules

  /** A node's value by its generated whole evaluation (jit.ts), or MULTI. */
  private whole(node: RuleNode, args: Value[] | undefined): Value | undefined | typeof MULTI {
    return this.runWhole(this.wholeOf(node), args);
  }

  /** @internal A node's generated whole evaluation (made on first use). */
  wholeOf(node: RuleNode): Whole {
    const n = node as RuleNode & { [WHOLE]?: Whole };
    return (n[WHOLE] ??= { fn: undefined, misses: 0, uses: 0, node });
  }

  private runWhole(w: Whole, args: Value[] | undefined): Value | undefined | typeof MULTI {
    if (w.fn === undefined) {
      // cold: clause by clause until it has been used a few times (see hotThreshold)
      if (w.uses++ < hotThreshold()) return MULTI;
      w.fn = generateWhole(w.node, this) ?? null;
    }
    if (w.fn === null) return MULTI;
    const v = w.fn(this, args);
    // one that needed the general path for another reason than a mock or coverage: after a few of
    // those, this node is always evaluated clause by clause
    if (v === MULTI && !this.mocks && !this.covered && ++w.misses > 8) w.fn = null;
    return v;
  }

  /** @internal The value of the rule a constant data ref reaches (generated code). */
  ruleAt(r: RuleRef): Value | undefined {
    const v = this.vcache.at(r.id);
    if (v !== NOT_CACHED) return v;
    const node = r.node;
    if (node.children.size === 0 && (node.kind === 'complete' || node.kind === 'set')) {
      const w = this.runWhole((r.whole ??= this.wholeOf(node)), undefined);
      if (w !== MULTI) {
        this.vcache.setAt(r.id, w);
        return w;
      }
    }
    return this.nodeValue(node, undefined, r.path);
  }

  /** @internal Calls the function at `r.node` (generated code). */
  callAt(r: { node: RuleNode; whole: Whole | undefined }, args: Value[]): Value | undefined {
    const v = this.runWhole((r.whole ??= this.wholeOf(r.node)), args);
    return v !== MULTI ? v : this.callClauses(r.node, args);
  }

  private ruleValue(node: RuleNode): Value | undefined {
    if (node.kind === 'complete' || node.kind === 'set') {
      const v = this.whole(node, undefined);
      if (v !== MULTI) return v;
    }
    switch (node.kind) {
      case 'complete':
        return this.singleValue(node, 'complete rules must not produce multiple outputs');
      case 'set': {
        const out = new RSet();
        const add = (v: Value): boolean => (out.add(v), false);
        const cs = this.clausesOf(node);
        for (let i = 0; i < cs.length; i++) {
          const c = cs[i];
          const r = c.rule;
          const f: Frame = new Array(c.nslots);
          const body = c.body;
          const j = body.straight(this, f);
          if (j < 0) continue;
          if (j === body.length) {
            // the common case: the body held once; the key has one value
            if (this.covered) this.covered(r);
            const v = c.head(this, f);
            if (v === MULTI) this.evalTerm(r.head.key!, f, add);
            else if (v !== undefined) out.add(v);
            continue;
          }
          body.run(
            this,
            f,
            () => {
              if (this.covered) this.covered(r);
              return this.evalTerm(r.head.key!, f, add);
            },
            j,
          );
        }
        return out;
      }
      case 'object': {
        const out = new RObject();
        for (const r of node.rules) {
          const f: Frame = new Array(r.nslots);
          const kp = r.keyPath!;
          const val = r.head.value ?? TRUE_TERM;
          this.evalBody(r.body, 0, f, () => {
            if (this.covered) this.covered(r);
            return this.evalItems(kp, 0, f, [], (keys) =>
              this.evalTerm(val, f, (v) => {
                insertPath(out, keys, v, () =>
                  this.error('eval_conflict_error', 'object keys must be unique', r.loc),
                );
                return false;
              }),
            );
          });
        }
        return out;
      }
      case 'function':
      case undefined:
        break;
    }
    return undefined;
  }

  /**
   * Evaluates a complete rule (or function clause) with its else chain; returns its single value,
   * and leaves the clause that produced it in `lastRule` (for conflict messages).
   */
  private evalRuleChain(first: Clause, conflictMsg: string, args?: Value[]): Value | undefined {
    for (let c: Clause | undefined = first; c; c = c.next) {
      const rule = c.rule;
      const f: Frame = new Array(c.nslots);
      const body = c.body;
      if (args) {
        const bind = c.bind;
        if (!bind) {
          const v = this.evalClauseGeneric(rule, f, conflictMsg, (k) =>
            this.unifyArgs(rule.head.args!, args, 0, f, () => body.run(this, f, k, 0)),
          );
          if (v !== undefined) return v;
          continue;
        }
        if (!bind(f, args)) continue;
      }
      // the common case: every expression simple, one solution, no continuations
      const j = body.straight(this, f);
      if (j < 0) continue;
      let v: Value | undefined | typeof MULTI = MULTI;
      if (j === body.length) {
        if (this.covered) this.covered(rule);
        v = c.head(this, f);
        if (v === undefined) continue;
        if (v !== MULTI) {
          this.lastRule = rule;
          return v;
        }
      }
      const w = this.evalClauseGeneric(
        rule,
        f,
        conflictMsg,
        j === body.length ? (k) => k() : (k) => body.run(this, f, k, j),
      );
      if (w !== undefined) return w;
    }
    return undefined;
  }

  /** The compiled clauses (with their else chains) of a node's rules, prepared on first use. */
  private clausesOf(node: RuleNode): Clause[] {
    const n = node as RuleNode & { [CLAUSES]?: Clause[] };
    let cs = n[CLAUSES];
    if (cs === undefined) {
      const fn = node.kind === 'function';
      cs = node.rules.map((r) => {
        let first: Clause | undefined;
        let prev: Clause | undefined;
        for (let x: Rule | undefined = r; x; x = x.else) {
          const c: Clause = {
            rule: x,
            nslots: x.nslots,
            bind: fn && x.head.args ? paramBinder(x.head.args) : undefined,
            body: compiledBody(x.body, this),
            // a set rule's clause yields its key
            head: valueFn(node.kind === 'set' ? x.head.key! : (x.head.value ?? TRUE_TERM), this),
            next: undefined,
          };
          if (prev) prev.next = c;
          else first = c;
          prev = c;
        }
        return first!;
      });
      n[CLAUSES] = cs;
    }
    return cs;
  }

  /** A clause's value by continuations: `start(k)` runs the body (or what is left of it), calling k per solution. */
  private evalClauseGeneric(
    rule: Rule,
    f: Frame,
    conflictMsg: string,
    start: (k: K) => boolean,
  ): Value | undefined {
    let value: Value | undefined;
    const vt = rule.head.value ?? TRUE_TERM;
    const constant = vt.type === 'scalar' || vt.type === 'const';
    const found = (v: Value): boolean => {
      if (value !== undefined && !equal(value, v))
        throw this.error('eval_conflict_error', conflictMsg, rule.loc);
      value = v;
      return constant;
    };
    start(() => {
      if (this.covered) this.covered(rule);
      return this.evalTerm(vt, f, found);
    });
    if (value !== undefined) this.lastRule = rule;
    return value;
  }

  private lastRule: Rule | undefined;

  private unifyArgs(params: Term[], args: Value[], i: number, f: Frame, k: K): boolean {
    if (i === params.length) return k();
    return this.unifyValue(params[i], args[i], f, () => this.unifyArgs(params, args, i + 1, f, k));
  }

  callFunction(name: string, args: Value[], loc: Location): Value | undefined {
    let node = FN_NODES.get(this.tree)?.get(name);
    if (!node) {
      node = this.tree.findNode(name.slice(5).split('.'));
      if (node) {
        let m = FN_NODES.get(this.tree);
        if (!m) FN_NODES.set(this.tree, (m = new Map()));
        m.set(name, node);
      }
    }
    if (!node) throw this.error('eval_type_error', `undefined function ${name}`, loc);
    return this.callNode(node, args);
  }

  /** @internal Calls the function defined at a rule node. */
  callNode(node: RuleNode, args: Value[]): Value | undefined {
    const v = this.whole(node, args);
    return v !== MULTI ? v : this.callClauses(node, args);
  }

  /** callNode clause by clause. */
  private callClauses(node: RuleNode, args: Value[]): Value | undefined {
    return this.singleValue(node, 'functions must not produce multiple outputs for same inputs', args);
  }

  /**
   * The one value of a complete rule or a function call: every clause (with its else chain)
   * evaluated, differing values a conflict, the default when none is defined.
   */
  private singleValue(node: RuleNode, conflictMsg: string, args?: Value[]): Value | undefined {
    let result: Value | undefined;
    const cs = this.clausesOf(node);
    for (let i = 0; i < cs.length; i++) {
      const v = this.evalRuleChain(cs[i], conflictMsg, args);
      if (v === undefined) continue;
      if (result !== undefined && !equal(result, v))
        throw this.error('eval_conflict_error', conflictMsg, this.lastRule!.loc);
      result = v;
    }
    if (result === undefined && node.defaultRule) {
      result = this.firstValue(node.defaultRule.head.value!, []);
      if (this.covered) this.covered(node.defaultRule);
    }
    return result;
  }

  // ------------------------------------------------------------------ calls

  private evalCallExpr(c: Call, f: Frame, k: K): boolean {
    const name = c.name!;
    if (name === 'eq' || name === 'assign') return this.unifyTerms(c.args[0], c.args[1], f, k);
    const arity = this.arity(name, c);
    if (c.args.length === arity + 1) {
      const out = c.args[arity];
      return this.evalArgs(c.args, 0, arity, f, [], (vals) =>
        this.invoke(name, c, vals, (r) => this.unifyValue(out, r, f, k)),
      );
    }
    return this.evalArgs(c.args, 0, c.args.length, f, [], (vals) =>
      this.invoke(name, c, vals, (r) => (r === false ? false : k())),
    );
  }

  private evalCall(c: Call, f: Frame, k: VK): boolean {
    return this.evalArgs(c.args, 0, c.args.length, f, [], (vals) => this.invoke(c.name!, c, vals, k));
  }

  private arity(name: string, c: Call): number {
    const cached = ARITY.get(c);
    if (cached !== undefined) return cached;
    const a = this.computeArity(name, c);
    ARITY.set(c, a);
    return a;
  }

  private computeArity(name: string, c: Call): number {
    if (name.startsWith('data.')) {
      const n = this.tree.env.functions.get(name.slice(5));
      return n ?? c.args.length;
    }
    const d = DECLARED.get(name);
    return d?.args ? d.args.length : c.args.length;
  }

  private evalArgs(
    args: Term[],
    i: number,
    n: number,
    f: Frame,
    acc: Value[],
    k: (vals: Value[]) => boolean,
  ): boolean {
    while (i < n) {
      const t = args[i];
      if (t.type === 'scalar' || t.type === 'const') acc.push(t.value);
      else if (t.type === 'var' && f[t.slot] !== undefined) acc.push(f[t.slot]!);
      else break;
      i++;
    }
    if (i === n) return k(acc);
    const t = args[i];
    if (t.type === 'var') {
      // an argument bound by a later one (e.g. `x == xs[x]`): evaluate the rest first
      const j = args.findIndex((a, idx) => idx > i && idx < n && a.type !== 'var');
      if (j > 0) {
        const rest = args.slice(0, n);
        return this.evalTerm(rest[j], f, (v) => {
          const vals = [...acc];
          const again = rest.map((a, idx) =>
            idx === j ? ({ type: 'const', value: v, loc: a.loc } as Term) : a,
          );
          return this.evalArgs(again, i, n, f, vals, k);
        });
      }
    }
    return this.evalTerm(args[i], f, (v) => this.evalArgs(args, i + 1, n, f, [...acc, v], k));
  }

  private invoke(name: string, c: Call, args: Value[], k: VK): boolean {
    if (this.mocks) {
      const m = this.mocks.get(name);
      if (m) {
        if (m.fn !== undefined && m.fn !== name) {
          const saved = this.mocks;
          // the replacement runs without builtin mocks: it may call the original, and mocks don't chain
          const inner = new Map([...saved].filter(([n]) => n.startsWith('data.') && n !== name));
          this.mocks = inner.size ? inner : undefined;
          try {
            let out: Value | undefined;
            const r = this.invoke(m.fn, c, args, (v) => ((out = v), true));
            void r;
            if (out === undefined) return false;
            this.mocks = saved;
            return k(out);
          } finally {
            this.mocks = saved;
          }
        }
        if (m.value !== undefined) return k(m.value);
      }
    }
    if (name.startsWith('data.')) {
      const v = this.callFunction(name, args, c.loc);
      return v === undefined ? false : k(v);
    }
    if (name === 'print') {
      this.printLoc = c.loc;
      this.print(args.map((a) => (typeof a === 'string' ? a : toRegoString(a))).join(' '));
      return k(true);
    }
    const d = DECLARED.get(name);
    if (d?.relation) {
      const impl = RELATIONS.get(name);
      if (!impl) throw this.error('eval_builtin_error', `${name}: not implemented`, c.loc);
      let outs: Value[];
      try {
        outs = impl(args, this);
      } catch (e) {
        return this.builtinFailed(name, e, c.loc);
      }
      for (const o of outs) {
        if (--this.fuel < 0) this.refuel();
        if (k(o)) return true;
      }
      return false;
    }
    const impl = IMPLS.get(name);
    if (!impl) throw this.error('eval_builtin_error', `${name}: not implemented`, c.loc);
    let out: Value | undefined;
    try {
      if (d?.nondeterministic) {
        const key = name + ':' + String(keyOf(args));
        if (this.cache.has(key)) out = this.cache.get(key) as Value;
        else {
          out = impl(args, this);
          this.cache.set(key, out);
        }
      } else out = impl(args, this);
    } catch (e) {
      return this.builtinFailed(name, e, c.loc);
    }
    return out === undefined ? false : k(out);
  }

  /** @internal */
  builtinFailed(name: string, e: unknown, loc: Location): boolean {
    if (e instanceof RegoError) throw e;
    if (e instanceof BuiltinError) {
      if (this.strict)
        throw this.error(e.kind === 'type' ? 'eval_type_error' : 'eval_builtin_error', e.message, loc);
      return false;
    }
    if (this.strict) throw this.error('eval_builtin_error', `${name}: ${(e as Error).message}`, loc);
    return false;
  }

  // ------------------------------------------------------------------ unification

  unifyTerms(a: Term, b: Term, f: Frame, k: K): boolean {
    if (!this.unbound(a, f)) return this.evalTerm(a, f, (av) => this.unifyValue(b, av, f, k));
    if (!this.unbound(b, f)) return this.evalTerm(b, f, (bv) => this.unifyValue(a, bv, f, k));
    if (a.type === 'array' && b.type === 'array') {
      if (a.items.length !== b.items.length) return false;
      return this.unifyPairs(a.items, b.items, 0, f, k);
    }
    if (a.type === 'object' && b.type === 'object') {
      if (a.items.length !== b.items.length) return false;
      const bk = new Map<unknown, Term>();
      for (const [kt, vt] of b.items) {
        const kv = this.firstValue(kt, f);
        if (kv === undefined) return false;
        bk.set(keyOf(kv), vt);
      }
      const as: Term[] = [];
      const bs: Term[] = [];
      for (const [kt, vt] of a.items) {
        const kv = this.firstValue(kt, f);
        const other = kv === undefined ? undefined : bk.get(keyOf(kv));
        if (!other) return false;
        as.push(vt);
        bs.push(other);
      }
      return this.unifyPairs(as, bs, 0, f, k);
    }
    if (a.type === 'var' && b.type === 'var')
      throw this.error('eval_type_error', `cannot unify unbound vars ${a.name} and ${b.name}`, a.loc);
    return false;
  }

  private unifyPairs(as: Term[], bs: Term[], i: number, f: Frame, k: K): boolean {
    if (i === as.length) return k();
    // prefer a pair that can be decided now
    for (let j = i; j < as.length; j++) {
      if (!this.unbound(as[j], f) || !this.unbound(bs[j], f)) {
        if (j !== i) {
          const as2 = [...as];
          const bs2 = [...bs];
          [as2[i], as2[j]] = [as2[j], as2[i]];
          [bs2[i], bs2[j]] = [bs2[j], bs2[i]];
          return this.unifyTerms(as2[i], bs2[i], f, () => this.unifyPairs(as2, bs2, i + 1, f, k));
        }
        break;
      }
    }
    return this.unifyTerms(as[i], bs[i], f, () => this.unifyPairs(as, bs, i + 1, f, k));
  }

  unifyValue(t: Term, v: Value, f: Frame, k: K): boolean {
    switch (t.type) {
      case 'var': {
        const cur = f[t.slot];
        if (cur !== undefined) return equal(cur, v) ? k() : false;
        f[t.slot] = v;
        try {
          return k();
        } finally {
          f[t.slot] = undefined;
        }
      }
      case 'scalar':
      case 'const':
        return equal(t.value, v) ? k() : false;
      case 'array':
        if (!Array.isArray(v) || v.length !== t.items.length) return false;
        return this.unifyArray(t.items, v, 0, f, k);
      case 'object': {
        if (!(v instanceof RObject) || v.size !== t.items.length) return false;
        const vals: Value[] = [];
        const pats: Term[] = [];
        for (const [kt, vt] of t.items) {
          const kv = this.firstValue(kt, f);
          if (kv === undefined) return false;
          const x = v.get(kv);
          if (x === undefined) return false;
          vals.push(x);
          pats.push(vt);
        }
        return this.unifyArray(pats, vals, 0, f, k);
      }
      default:
        return this.evalTerm(t, f, (tv) => (equal(tv, v) ? k() : false));
    }
  }

  private unifyArray(items: Term[], v: Value[], i: number, f: Frame, k: K): boolean {
    if (i === items.length) return k();
    return this.unifyValue(items[i], v[i], f, () => this.unifyArray(items, v, i + 1, f, k));
  }
}

/**
 * Rule values of one evaluation (or of one `with` scope), by node. Nodes are numbered per tree on
 * first use, so a lookup is an array read; a node met under another tree (never, in practice)
 * goes to a map.
 */
class ValueCache {
  private readonly byId: (Value | typeof UNDEFINED | undefined)[] = [];
  private other: Map<RuleNode, Value | undefined> | undefined;

  constructor(private readonly tree: PolicyTree) {}

  id(node: RuleNode): number {
    const n = node as RuleNode & { [NODE_ID]?: number; [NODE_TREE]?: PolicyTree };
    if (n[NODE_TREE] === this.tree) return n[NODE_ID]!;
    if (n[NODE_TREE] !== undefined) return -1;
    const t = this.tree as PolicyTree & { [NODE_COUNT]?: number };
    const id = t[NODE_COUNT] ?? 0;
    t[NODE_COUNT] = id + 1;
    n[NODE_TREE] = this.tree;
    n[NODE_ID] = id;
    return id;
  }

  get(node: RuleNode): Value | undefined | typeof NOT_CACHED {
    const id = this.id(node);
    if (id < 0) return this.other?.has(node) ? this.other.get(node) : NOT_CACHED;
    const v = this.byId[id];
    return v === undefined ? NOT_CACHED : v === UNDEFINED ? undefined : v;
  }

  /** get() by the node's number. */
  at(id: number): Value | undefined | typeof NOT_CACHED {
    const v = this.byId[id];
    return v === undefined ? NOT_CACHED : v === UNDEFINED ? undefined : v;
  }

  setAt(id: number, v: Value | undefined): void {
    // fill up to id first so the array stays packed
    for (let i = this.byId.length; i < id; i++) this.byId.push(undefined);
    this.byId[id] = v === undefined ? UNDEFINED : v;
  }

  set(node: RuleNode, v: Value | undefined): void {
    const id = this.id(node);
    if (id < 0) (this.other ??= new Map()).set(node, v);
    else this.setAt(id, v);
  }
}
const UNDEFINED = Symbol('undefined');
const NODE_ID = Symbol('nodeId');
const NODE_TREE = Symbol('nodeTree');
const NODE_COUNT = Symbol('nodeCount');

const ARITY = new WeakMap<Call, number>();
const CLAUSES = Symbol('clauses');

/** A rule clause prepared for evaluation (see clausesOf). */
interface Clause {
  rule: Rule;
  nslots: number;
  /** Binds a function clause's arguments; undefined for patterns (general unification) and for rules. */
  bind: ((f: Frame, args: Value[]) => boolean) | undefined;
  body: CompiledBody;
  head: ValueFn;
  /** The else branch. */
  next: Clause | undefined;
}
const FN_NODES = new WeakMap<PolicyTree, Map<string, RuleNode>>();
/** A node's generated whole evaluation (jit.ts); fn null when it has none (or stopped using it). */
const WHOLE = Symbol('whole');
export interface Whole {
  /** undefined until generated (see hotThreshold), null when it has none */
  fn: WholeFn | null | undefined;
  misses: number;
  uses: number;
  node: RuleNode;
}
/** A rule reached by a constant data ref, for generated code: its node, cache number and data path. */
export interface RuleRef {
  node: RuleNode;
  id: number;
  path: string[];
  whole: Whole | undefined;
}

const TRUE_TERM: Term = { type: 'scalar', value: true, loc: { file: '', row: 0, col: 0, start: 0, end: 0 } };

function isMock(v: unknown): v is Mock {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof RObject) &&
    !(v instanceof RSet) &&
    !Array.isArray(v) &&
    'fn' in v
  );
}

function setPath(root: Value | undefined, path: Value[], v: Value): Value {
  if (path.length === 0) return v;
  const o = root instanceof RObject ? root.clone() : new RObject();
  o.set(path[0], setPath(o.get(path[0]), path.slice(1), v));
  return o;
}

function insertPath(o: RObject, keys: Value[], v: Value, conflict: () => RegoError): void {
  let cur = o;
  for (let i = 0; i < keys.length - 1; i++) {
    let next = cur.get(keys[i]);
    if (!(next instanceof RObject)) {
      if (next !== undefined) throw conflict();
      next = new RObject();
      cur.set(keys[i], next);
    }
    cur = next;
  }
  const last = keys[keys.length - 1];
  const prev = cur.get(last);
  if (prev !== undefined && !equal(prev, v)) {
    if (prev instanceof RObject && v instanceof RObject) {
      const m = prev.clone();
      for (const [kk, vv] of v.sortedEntries()) m.set(kk, vv);
      cur.set(last, m);
      return;
    }
    throw conflict();
  }
  cur.set(last, v);
}

function mergeInto(o: RObject, name: string, v: Value, ev: Evaluator, node: RuleNode): void {
  const prev = o.get(name);
  if (prev instanceof RObject && v instanceof RObject) {
    const m = prev.clone();
    for (const [k, x] of v.sortedEntries()) m.set(k, x);
    o.set(name, m);
    return;
  }
  if (prev !== undefined && !equal(prev, v)) {
    const r = node.rules[0];
    throw new RegoError('eval_conflict_error', 'object keys must be unique', r?.loc);
  }
  void ev;
  o.set(name, v);
}

function applyOverrides(o: RObject, path: string[], overrides: Map<string, Value>): void {
  const prefix = path.join('\u0000');
  for (const [key, v] of overrides) {
    const parts = key === '' ? [] : key.split('\u0000');
    if (parts.length <= path.length) continue;
    if (path.length && !key.startsWith(prefix + '\u0000')) continue;
    const rel = parts.slice(path.length);
    let cur = o;
    for (let i = 0; i < rel.length - 1; i++) {
      let n = cur.get(rel[i]);
      n = n instanceof RObject ? n.clone() : new RObject();
      cur.set(rel[i], n);
      cur = n;
    }
    cur.set(rel[rel.length - 1], v);
  }
}

export { lookup };
