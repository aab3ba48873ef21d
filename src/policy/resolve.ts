/**
 * Compiler stage "ResolveRefs": gives every variable a frame slot or turns it into a global ref
 * (rule names of the package, imports, `input`, `data`), resolves function names, and enforces the
 * `:=` / `some` declaration rules. Scoping: comprehensions and `every` bodies open a new level;
 * a name there refers to the enclosing rule's variable if that rule uses the same name.
 */
import type { Body, Call, Expr, ExprBody, Location, Module, Ref, Rule, Term, Var, With } from './ast.js';
import { DECLARED } from './builtins/registry.js';
import { RegoError } from './errors.js';

export interface ResolveEnv {
  /** Names (first head segment) of rules per package key. */
  ruleNames: Map<string, Set<string>>;
  /** Dotted paths (without `data.`) of user functions → arity. */
  functions: Map<string, number>;
  errors: RegoError[];
}

interface Level {
  locals: Map<string, number>;
  parent?: Level;
  /** Expression index where a `:=`/`some` name is declared; closures before it don't see it. */
  declAt?: Map<string, number>;
  /** Index of the expression being rewritten. */
  current?: number;
}

/** Slots local to each closure body (comprehension or every), for the safety stage. */
export const closureLocals = new WeakMap<Body, Set<number>>();

export class Resolver {
  private nslots = 0;
  private readonly imports = new Map<string, Term[]>();
  private readonly names: Set<string>;
  /** Top-level vars of a query, name → slot (for result bindings). */
  readonly queryVars = new Map<string, number>();

  constructor(
    private readonly env: ResolveEnv,
    private readonly pkg: string[],
    imports: Module['imports'],
    private readonly source: string,
  ) {
    this.names = env.ruleNames.get(pkg.join('.')) ?? new Set();
    for (const imp of imports) {
      const head = imp.path.terms[0];
      if (head.type !== 'var' || head.name === 'future' || head.name === 'rego') continue;
      const last = imp.path.terms[imp.path.terms.length - 1];
      const alias =
        imp.alias ??
        (imp.path.terms.length === 1 ? head.name : last.type === 'scalar' ? String(last.value) : undefined);
      if (alias) this.imports.set(alias, imp.path.terms);
    }
  }

  get slots(): number {
    return this.nslots;
  }

  private err(code: 'rego_compile_error' | 'rego_type_error', msg: string, loc: Location): void {
    this.env.errors.push(new RegoError(code, msg, loc, this.source));
  }

  private alloc(): number {
    return this.nslots++;
  }

  // ------------------------------------------------------------------ entry points

  rule(rule: Rule): void {
    this.nslots = 0;
    const level: Level = { locals: new Map() };
    const declared = new Set<string>();
    const h = rule.head;
    if (h.args) for (const a of h.args) this.collectNames(a, (v) => declared.add(v.name));
    this.prepareLevel(
      level,
      rule.body,
      declared,
      [h.args ?? [], h.ref.slice(1), h.key ? [h.key] : [], h.value ? [h.value] : []].flat(),
    );
    if (h.args) h.args = h.args.map((t) => this.term(t, level));
    h.ref = [h.ref[0], ...h.ref.slice(1).map((t) => this.term(t, level))];
    if (h.key) h.key = this.term(h.key, level);
    if (h.value) h.value = this.term(h.value, level);
    rule.body = this.body(rule.body, level);
    closureLocals.set(rule.body, new Set(level.locals.values()));
    // else branches share the frame (and the function arguments) of the rule they belong to
    for (let e = rule.else; e; e = e.else) {
      const child: Level = { locals: new Map(), parent: level };
      const v = e.head.value;
      this.prepareLevel(child, e.body, new Set(), v ? [v] : []);
      e.head = { ...h, value: v ? this.term(v, child) : undefined, loc: e.head.loc };
      e.body = this.body(e.body, child);
      closureLocals.set(e.body, new Set(child.locals.values()));
    }
    rule.nslots = this.nslots;
    for (let e = rule.else; e; e = e.else) e.nslots = this.nslots;
  }

  query(body: Body): Body {
    this.nslots = 0;
    const level: Level = { locals: new Map() };
    this.prepareLevel(level, body, new Set(), []);
    for (const [name, slot] of level.locals) if (!name.startsWith('$')) this.queryVars.set(name, slot);
    const out = this.body(body, level);
    closureLocals.set(out, new Set(level.locals.values()));
    return out;
  }

  // ------------------------------------------------------------------ levels

  private collectNames(t: Term, fn: (v: Var) => void): void {
    switch (t.type) {
      case 'var':
        fn(t);
        break;
      case 'ref':
        t.terms.forEach((x, i) => (i === 0 && x.type === 'var' ? fn(x) : this.collectNames(x, fn)));
        break;
      case 'array':
      case 'set':
        t.items.forEach((x) => this.collectNames(x, fn));
        break;
      case 'object':
        t.items.forEach(([k, v]) => {
          this.collectNames(k, fn);
          this.collectNames(v, fn);
        });
        break;
      case 'call':
        t.args.forEach((x) => this.collectNames(x, fn));
        break;
      case 'arraycomp':
      case 'const':
      case 'objectcomp':
      case 'scalar':
      case 'setcomp':
        break;
    }
  }

  private collectResolved(t: Term, fn: (v: Var) => void): void {
    this.collectNames(t, (v) => {
      if (v.slot >= 0) fn(v);
    });
  }

  private exprTerms(e: ExprBody): Term[] {
    switch (e.type) {
      case 'term':
        return [e.term];
      case 'callexpr':
        return e.call.args;
      case 'somedecl':
        return e.vars;
      case 'somein':
        return [...(e.key ? [e.key] : []), e.value, e.domain];
      case 'every':
        return [e.domain];
    }
  }

  /** Pass 1 of a level: find declarations and give every non-global name at this level a slot. */
  private prepareLevel(level: Level, body: Body, declared: Set<string>, extra: Term[]): void {
    const used = new Set<string>();
    const assigned = new Set<string>();
    const declAt = (level.declAt ??= new Map());
    const usedBefore = new Set<string>();
    body.forEach((e, idx) => {
      const x = e.expr;
      const mark = (n: string): void => {
        if (!declAt.has(n) && !usedBefore.has(n)) declAt.set(n, idx);
      };
      if (x.type === 'somedecl') x.vars.forEach((v) => mark(v.name));
      else if (x.type === 'somein') {
        for (const t of [x.key, x.value]) if (t) this.collectNames(t, (v) => mark(v.name));
      } else if (
        x.type === 'callexpr' &&
        x.call.op.terms.length === 1 &&
        (x.call.op.terms[0] as Var).name === 'assign'
      )
        this.collectNames(x.call.args[0], (v) => mark(v.name));
      else for (const t of this.exprTerms(x)) this.collectNames(t, (v) => usedBefore.add(v.name));
    });
    for (const e of body) {
      const x = e.expr;
      if (x.type === 'somedecl') for (const v of x.vars) declared.add(v.name);
      else if (x.type === 'somein') {
        for (const t of [x.key, x.value]) if (t) this.collectNames(t, (v) => declared.add(v.name));
      } else if (
        x.type === 'callexpr' &&
        x.call.op.terms.length === 1 &&
        (x.call.op.terms[0] as Var).name === 'assign'
      ) {
        const lhs = x.call.args[0];
        this.collectNames(x.call.args[1], (v) => used.add(v.name));
        if (lhs.type !== 'var' && lhs.type !== 'array' && lhs.type !== 'object') {
          this.err('rego_compile_error', `cannot assign to ${lhs.type}`, lhs.loc);
        }
        this.collectNames(lhs, (v) => {
          if (v.name === '_') return;
          if (
            assigned.has(v.name) ||
            (declared.has(v.name) &&
              !assigned.has(v.name) &&
              body.some((b) => b.expr.type === 'somedecl' && b.expr.vars.some((s) => s.name === v.name)))
          ) {
            this.err('rego_compile_error', `var ${v.name} assigned above`, v.loc);
          } else if (used.has(v.name)) {
            this.err('rego_compile_error', `var ${v.name} referenced above`, v.loc);
          }
          assigned.add(v.name);
          declared.add(v.name);
        });
        continue;
      }
      for (const t of this.exprTerms(x)) this.collectNames(t, (v) => used.add(v.name));
      for (const w of e.with) {
        const v = w.value;
        const ref: Ref | undefined =
          v.type === 'var' ? { type: 'ref', terms: [v], loc: v.loc } : v.type === 'ref' ? v : undefined;
        const path = ref && this.opPath(ref);
        if (path && !declared.has(path[0]) && this.resolveFunction(path) && !this.isGlobal(path[0])) continue;
        this.collectNames(w.value, (x) => used.add(x.name));
      }
    }
    for (const t of extra) this.collectNames(t, (v) => used.add(v.name));
    const all = new Set([...declared, ...used]);
    for (const name of all) {
      if (name === '_') continue;
      if (declared.has(name)) {
        level.locals.set(name, this.alloc());
        continue;
      }
      if (this.lookupLocal(level.parent, name, true) !== undefined) continue;
      if (this.isGlobal(name)) continue;
      level.locals.set(name, this.alloc());
    }
  }

  /** Finds a local slot; enclosing levels only count names declared before the current expression. */
  private lookupLocal(level: Level | undefined, name: string, fromChild = false): number | undefined {
    for (let l = level; l; l = l.parent) {
      const s = l.locals.get(name);
      if (s === undefined) continue;
      const at = l !== level || fromChild ? l.declAt?.get(name) : undefined;
      if (at !== undefined && l.current !== undefined && at > l.current) continue;
      return s;
    }
    return undefined;
  }

  private isGlobal(name: string): boolean {
    return name === 'input' || name === 'data' || this.imports.has(name) || this.names.has(name);
  }

  private globalRef(v: Var): Term[] {
    if (v.name === 'input' || v.name === 'data') return [{ ...v, slot: -1 }];
    const imp = this.imports.get(v.name);
    if (imp)
      return imp.map((t, i) => (i === 0 ? { ...(t as Var), slot: -1, loc: v.loc } : { ...t, loc: v.loc }));
    const loc = v.loc;
    return [
      { type: 'var', name: 'data', slot: -1, loc },
      ...this.pkg.map((p) => ({ type: 'scalar' as const, value: p, loc })),
      { type: 'scalar', value: v.name, loc },
    ];
  }

  // ------------------------------------------------------------------ rewriting

  private body(body: Body, level: Level): Body {
    const out: Body = [];
    for (const [idx, e] of body.entries()) {
      const x = e.expr;
      level.current = idx;
      if (x.type === 'somedecl') continue;
      out.push({ ...e, expr: this.exprBody(x, level), with: e.with.map((w) => this.withClause(w, level)) });
    }
    return out;
  }

  private exprBody(x: ExprBody, level: Level): ExprBody {
    switch (x.type) {
      case 'term':
        return { ...x, term: this.term(x.term, level) };
      case 'callexpr':
        return { ...x, call: this.call(x.call, level) };
      case 'somein':
        return {
          ...x,
          key: x.key && this.term(x.key, level),
          value: this.term(x.value, level),
          domain: this.term(x.domain, level),
        };
      case 'every': {
        const child: Level = { locals: new Map(), parent: level };
        const declared = new Set<string>();
        for (const t of [x.key, x.value]) if (t) this.collectNames(t, (v) => declared.add(v.name));
        this.prepareLevel(child, x.body, declared, []);
        const domain = this.term(x.domain, level);
        const key = x.key && this.term(x.key, child);
        const value = this.term(x.value, child);
        const body = this.body(x.body, child);
        closureLocals.set(body, new Set(child.locals.values()));
        return { ...x, key, value, domain, body };
      }
      case 'somedecl':
        return x;
    }
  }

  private var(v: Var, level: Level): Term {
    if (v.name === '_') {
      const slot = this.alloc();
      level.locals.set(`$${slot}`, slot);
      return { ...v, name: `$${slot}`, slot, wildcard: true };
    }
    const s = this.lookupLocal(level, v.name);
    if (s !== undefined) return { ...v, slot: s };
    const terms = this.globalRef(v);
    return { type: 'ref', terms, loc: v.loc };
  }

  term(t: Term, level: Level): Term {
    switch (t.type) {
      case 'var':
        return this.var(t, level);
      case 'ref': {
        const head = t.terms[0];
        const rest = t.terms.slice(1).map((x) => this.term(x, level));
        if (head.type === 'var') {
          const h = this.var(head, level);
          if (h.type === 'ref') return { ...t, terms: [...h.terms, ...rest] };
          return { ...t, terms: [h, ...rest] };
        }
        return { ...t, terms: [this.term(head, level), ...rest] };
      }
      case 'array':
      case 'set':
        return { ...t, items: t.items.map((x) => this.term(x, level)) };
      case 'object':
        return {
          ...t,
          items: t.items.map(([k, v]) => [this.term(k, level), this.term(v, level)] as [Term, Term]),
        };
      case 'call':
        return this.call(t, level);
      case 'arraycomp':
      case 'setcomp': {
        const child: Level = { locals: new Map(), parent: level };
        this.prepareLevel(child, t.body, new Set(), [t.term]);
        const body = this.body(t.body, child);
        closureLocals.set(body, new Set(child.locals.values()));
        return { ...t, term: this.term(t.term, child), body };
      }
      case 'objectcomp': {
        const child: Level = { locals: new Map(), parent: level };
        this.prepareLevel(child, t.body, new Set(), [t.key, t.value]);
        const body = this.body(t.body, child);
        closureLocals.set(body, new Set(child.locals.values()));
        return { ...t, key: this.term(t.key, child), value: this.term(t.value, child), body };
      }
      default:
        return t;
    }
  }

  private opPath(op: Ref): string[] | undefined {
    const out: string[] = [];
    for (const [i, t] of op.terms.entries()) {
      if (i === 0 && t.type === 'var') out.push(t.name);
      else if (t.type === 'scalar' && typeof t.value === 'string') out.push(t.value);
      else return undefined;
    }
    return out;
  }

  /** Resolves a function name to `data.pkg.f` (user) or a builtin name, or undefined. */
  resolveFunction(path: string[]): string | undefined {
    const dotted = path.join('.');
    if (path[0] === 'data') {
      const p = path.slice(1).join('.');
      return this.env.functions.has(p) ? 'data.' + p : undefined;
    }
    const imp = this.imports.get(path[0]);
    if (imp) {
      const ip = this.opPath({ type: 'ref', terms: imp, loc: imp[0].loc });
      if (ip && ip[0] === 'data') {
        const p = [...ip.slice(1), ...path.slice(1)].join('.');
        if (this.env.functions.has(p)) return 'data.' + p;
      }
    }
    if (this.names.has(path[0])) {
      const p = [...this.pkg, ...path].join('.');
      if (this.env.functions.has(p)) return 'data.' + p;
    }
    if (DECLARED.has(dotted)) return dotted;
    return undefined;
  }

  private call(c: Call, level: Level): Call {
    const args = c.args.map((a) => this.term(a, level));
    const path = this.opPath(c.op);
    let name: string | undefined;
    if (path && (path[0] === 'eq' || path[0] === 'assign') && path.length === 1) name = path[0];
    else if (path && this.lookupLocal(level, path[0]) === undefined) name = this.resolveFunction(path);
    if (!name) {
      this.err('rego_type_error', `undefined function ${path ? path.join('.') : '<ref>'}`, c.loc);
      name = path?.join('.') ?? '?';
    } else if (!name.startsWith('data.') && name !== 'eq' && name !== 'assign') {
      const d = DECLARED.get(name)!;
      if (d.args && args.length !== d.args.length && args.length !== d.args.length + 1) {
        this.err(
          'rego_type_error',
          `${name}: arity mismatch\n\thave: (${args.map(() => 'any').join(', ')})\n\twant: (${d.args.join(', ')})`,
          c.loc,
        );
      }
    } else if (name.startsWith('data.')) {
      const ar = this.env.functions.get(name.slice(5))!;
      if (args.length !== ar && args.length !== ar + 1)
        this.err('rego_type_error', `${name}: arity mismatch`, c.loc);
    }
    return { ...c, args, name };
  }

  private withClause(w: With, level: Level): With {
    const target = this.withTarget(w.target);
    const t0 = target.terms[0];
    if (t0.type === 'var' && t0.name.startsWith('$fn:')) {
      // `with f as g`: a function replacement when the value names a function
      const v = w.value;
      const ref: Ref | undefined =
        v.type === 'var' ? { type: 'ref', terms: [v], loc: v.loc } : v.type === 'ref' ? v : undefined;
      const path = ref && this.opPath(ref);
      if (path && this.lookupLocal(level, path[0]) === undefined) {
        const fn = this.resolveFunction(path);
        if (fn) return { ...w, target, value: { type: 'var', name: '$fn:' + fn, slot: -1, loc: v.loc } };
      }
    }
    return { ...w, target, value: this.term(w.value, level) };
  }

  private withTarget(target: Ref): Ref {
    const path = this.opPath(target);
    const head = target.terms[0] as Var;
    if (head.name === 'input' || head.name === 'data') return target;
    if (path) {
      const fn = this.resolveFunction(path);
      if (fn) return { ...target, terms: [{ ...head, name: '$fn:' + fn }] };
    }
    if (this.imports.has(head.name) || this.names.has(head.name))
      return { ...target, terms: [...this.globalRef(head), ...target.terms.slice(1)] };
    this.err(
      'rego_compile_error',
      `with keyword target must reference existing input, data, or a function`,
      target.loc,
    );
    return target;
  }
}

/** A call expression's resolved name. */
export function callName(c: Call): string {
  return c.name ?? '?';
}

export type { Expr };
