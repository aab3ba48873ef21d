/**
 * The compiler: an ordered, named list of stages over parsed modules. Each stage adds errors rather
 * than throwing so one run reports everything (like `opa check`).
 */
import type { Body, Module, Rule, RuleKind, Term } from './ast.js';
import { metadataFor } from './annotations.js';
import { DECLARED } from './builtins/registry.js';
import { RegoError, RegoErrors } from './errors.js';
import { foldBody, foldRule } from './fold.js';
import { Resolver, type ResolveEnv } from './resolve.js';
import { Safety } from './safety.js';
import type { Value } from './value.js';
import { visitBody, visitTerm, walkBody, walkExpr, walkTerm, type Visitor } from './walk.js';

export interface RuleNode {
  path: string[];
  children: Map<string, RuleNode>;
  /** Non-default rules whose static path is exactly this node. */
  rules: Rule[];
  defaultRule?: Rule;
  kind?: RuleKind;
  /** This node or a descendant has rules (or is a package). */
  virtual: boolean;
  /** A package is declared at this path (so its document exists, even if empty). */
  isPackage?: boolean;
}

export interface CompiledQuery {
  body: Body;
  nslots: number;
  /** User-visible query variables, name → slot. */
  vars: Map<string, number>;
  text: string;
  /**
   * Per body expression (in evaluation order): its value is captured, as in OPA's
   * rewriteQueryToCaptureValue — a term, or a call written without its output argument. Other
   * expressions (`=`, `:=`, `not`, `some`, `every`, calls with an output) have the value true.
   */
  capture: boolean[];
  /** A captured `false` makes the query undefined (OPA does this when the query has several expressions or iterates). */
  checkCapture: boolean;
}

function newNode(path: string[]): RuleNode {
  return { path, children: new Map(), rules: [], virtual: false };
}

type Stage = [name: string, run: (c: Compiler) => void];

export class Compiler {
  readonly modules: Module[];
  readonly errors: RegoError[] = [];
  readonly root = newNode([]);
  readonly env: ResolveEnv = { ruleNames: new Map(), functions: new Map(), errors: this.errors };
  private rules: Rule[] = [];

  /** The stages, in order. Later stages assume earlier ones succeeded. */
  static readonly STAGES: Stage[] = [
    ['BuildRuleTree', (c) => c.buildRuleTree()],
    ['CheckRuleConflicts', (c) => c.checkRuleConflicts()],
    ['ResolveRefs', (c) => c.resolveRefs()],
    ['RewriteRegoMetadataCalls', (c) => c.rewriteRegoMetadataCalls()],
    ['CheckSafety', (c) => c.checkSafety()],
    ['CheckRecursion', (c) => c.checkRecursion()],
    ['FoldConstants', (c) => c.foldConstants()],
  ];

  constructor(modules: Module[]) {
    this.modules = modules;
  }

  compile(): this {
    for (const [, run] of Compiler.STAGES) {
      run(this);
      if (this.errors.length) throw new RegoErrors(this.errors.slice(0, 10));
    }
    return this;
  }

  private node(path: string[]): RuleNode {
    let n = this.root;
    for (let i = 0; i < path.length; i++) {
      let c = n.children.get(path[i]);
      if (!c) {
        c = newNode(path.slice(0, i + 1));
        n.children.set(path[i], c);
      }
      n = c;
    }
    return n;
  }

  findNode(path: string[]): RuleNode | undefined {
    let n: RuleNode | undefined = this.root;
    for (const p of path) {
      n = n.children.get(p);
      if (!n) return undefined;
    }
    return n;
  }

  // ------------------------------------------------------------------ stages

  buildRuleTree(): void {
    for (const m of this.modules) {
      this.node(m.package.path).isPackage = true;
      const pkgKey = m.package.path.join('.');
      let names = this.env.ruleNames.get(pkgKey);
      if (!names) this.env.ruleNames.set(pkgKey, (names = new Set()));
      for (const r of m.rules) {
        const h = r.head;
        const first = h.ref[0];
        if (first.type !== 'var') continue;
        names.add(first.name);
        const stat: string[] = [first.name];
        let i = 1;
        for (; i < h.ref.length; i++) {
          const t = h.ref[i];
          if (t.type === 'scalar' && typeof t.value === 'string') stat.push(t.value);
          else break;
        }
        const dyn = h.ref.slice(i);
        r.path = [...m.package.path, ...stat];
        if (h.args) r.kind = 'function';
        else if (h.contains) {
          r.kind = 'set';
          if (dyn.length)
            this.errors.push(
              new RegoError(
                'rego_parse_error',
                'multi-value rules must have a static ref head before contains',
                h.loc,
                m.source.text,
              ),
            );
        } else if (dyn.length) {
          r.kind = 'object';
          r.keyPath = dyn;
        } else r.kind = 'complete';
        for (let e = r.else; e; e = e.else) {
          e.kind = r.kind;
          e.path = r.path;
          e.keyPath = r.keyPath;
        }
        if (r.kind === 'function') this.env.functions.set(r.path.join('.'), h.args!.length);
        this.rules.push(r);
        const n = this.node(r.path);
        if (r.isDefault) {
          if (n.defaultRule)
            this.errors.push(
              new RegoError(
                'rego_type_error',
                `multiple default rules data.${r.path.join('.')} found`,
                r.loc,
                m.source.text,
              ),
            );
          n.defaultRule = r;
        } else n.rules.push(r);
      }
    }
    const mark = (n: RuleNode): boolean => {
      let v = n.rules.length > 0 || n.defaultRule !== undefined || n.isPackage === true;
      for (const c of n.children.values()) v = mark(c) || v;
      n.virtual = v;
      return v;
    };
    mark(this.root);
  }

  checkRuleConflicts(): void {
    const visit = (n: RuleNode): void => {
      const all = [...n.rules, ...(n.defaultRule ? [n.defaultRule] : [])];
      if (all.length) {
        const kinds = new Set(
          all.map((r) => (r.kind === 'object' && r.keyPath!.length > 0 ? 'object' : r.kind)),
        );
        const arities = new Set(all.filter((r) => r.kind === 'function').map((r) => r.head.args!.length));
        if (kinds.size > 1 || arities.size > 1) {
          const r = all[all.length - 1];
          this.errors.push(
            new RegoError(
              'rego_type_error',
              `conflicting rules data.${n.path.join('.')} found`,
              r.loc,
              r.module.source.text,
            ),
          );
        }
        n.kind = all[0].kind;
        if (n.defaultRule && n.kind !== 'complete' && n.kind !== 'function') {
          const r = n.defaultRule;
          this.errors.push(
            new RegoError(
              'rego_type_error',
              `conflicting rules data.${n.path.join('.')} found`,
              r.loc,
              r.module.source.text,
            ),
          );
        }
        if ((n.kind === 'complete' || n.kind === 'function') && n.children.size) {
          const child = [...n.children.values()].find((c) => c.virtual);
          if (child) {
            const r = all[0];
            this.errors.push(
              new RegoError(
                'rego_type_error',
                `rule data.${n.path.join('.')} conflicts with [data.${firstRulePath(child)}]`,
                r.loc,
                r.module.source.text,
              ),
            );
          }
        }
      }
      for (const c of n.children.values()) visit(c);
    };
    visit(this.root);
  }

  resolveRefs(): void {
    for (const m of this.modules) {
      const res = new Resolver(this.env, m.package.path, m.imports, m.source.text);
      for (const r of m.rules) {
        res.rule(r);
        // key terms were rewritten with the head; point keyPath at the resolved ones
        const kp = r.keyPath;
        if (kp)
          for (let x: Rule | undefined = r; x; x = x.else)
            x.keyPath = x.head.ref.slice(x.head.ref.length - kp.length);
      }
    }
  }

  /** rego.metadata.rule() and rego.metadata.chain() become the rule's annotations, as constants. */
  rewriteRegoMetadataCalls(): void {
    for (const m of this.modules) {
      if (!m.source.text.includes('rego.metadata')) continue;
      for (const r of m.rules) {
        for (let x: Rule | undefined = r; x; x = x.else) {
          const rule = x;
          let meta: { rule: Value; chain: Value } | undefined;
          const visit = (t: Term): void => {
            if (t.type !== 'call' || (t.name !== 'rego.metadata.rule' && t.name !== 'rego.metadata.chain'))
              return;
            try {
              meta ??= metadataFor(rule, this.modules);
            } catch (e) {
              if (e instanceof RegoError) this.errors.push(e);
              else throw e;
              return;
            }
            const value = t.name === 'rego.metadata.rule' ? meta.rule : meta.chain;
            Object.assign(t as Term, { type: 'const', value });
          };
          visitBody(rule.body, visit);
          if (rule.head.value) visitTerm(rule.head.value, visit);
        }
      }
    }
  }

  checkSafety(): void {
    for (const m of this.modules) {
      const s = new Safety(this.env.functions, this.errors, m.source.text);
      for (const r of m.rules) {
        for (let x: Rule | undefined = r; x; x = x.else) {
          const init = new Set<number>();
          for (const a of x.head.args ?? []) collectSlots(a, init);
          const { body, safe } = s.reorder(x.body, init);
          x.body = body;
          const head: Term[] = [
            ...(x.keyPath ?? []),
            ...(x.head.key ? [x.head.key] : []),
            ...(x.head.value ? [x.head.value] : []),
          ];
          s.checkHead(head, safe);
        }
      }
    }
  }

  checkRecursion(): void {
    const deps = new Map<RuleNode, Set<RuleNode>>();
    const nodeOf = (r: Rule): RuleNode => this.findNode(r.path)!;
    for (const r of this.rules) {
      const from = nodeOf(r);
      let set = deps.get(from);
      if (!set) deps.set(from, (set = new Set()));
      const add = (prefix: string[]): void => {
        let n: RuleNode | undefined = this.root;
        for (const p of prefix) {
          n = n.children.get(p);
          if (!n) return;
          if (n.rules.length || n.defaultRule) set!.add(n);
        }
        const below = (x: RuleNode): void => {
          for (const c of x.children.values()) {
            if (c.rules.length || c.defaultRule) set!.add(c);
            below(c);
          }
        };
        if (n) below(n);
      };
      for (let x: Rule | undefined = r; x; x = x.else)
        visitRuleTerms(x, (t) => {
          if (
            t.type === 'ref' &&
            t.terms[0].type === 'var' &&
            t.terms[0].name === 'data' &&
            t.terms[0].slot < 0
          ) {
            const prefix: string[] = [];
            for (let i = 1; i < t.terms.length; i++) {
              const k = t.terms[i];
              if (k.type === 'scalar' && typeof k.value === 'string') prefix.push(k.value);
              else break;
            }
            add(prefix);
          } else if (t.type === 'call' && t.name?.startsWith('data.')) add(t.name.slice(5).split('.'));
        });
    }
    const state = new Map<RuleNode, number>();
    const stack: RuleNode[] = [];
    const reported = new Set<RuleNode>();
    const dfs = (n: RuleNode): void => {
      state.set(n, 1);
      stack.push(n);
      for (const d of deps.get(n) ?? []) {
        const s = state.get(d);
        if (s === 1) {
          const cycle = stack.slice(stack.indexOf(d)).concat([d]);
          if (!reported.has(d)) {
            reported.add(d);
            const r = d.rules[0] ?? d.defaultRule!;
            const names = cycle.map((c) => 'data.' + c.path.join('.'));
            this.errors.push(
              new RegoError(
                'rego_recursion_error',
                `rule data.${d.path.join('.')} is recursive: ${names.join(' -> ')}`,
                r.loc,
                r.module.source.text,
              ),
            );
          }
        } else if (!s) dfs(d);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of deps.keys()) if (!state.get(n)) dfs(n);
  }

  foldConstants(): void {
    for (const r of this.rules) for (let x: Rule | undefined = r; x; x = x.else) foldRule(x);
  }

  /** Compiles a query against this compiler's rules. */
  compileQuery(body: Body, text: string, pkg: string[] = [], imports: Module['imports'] = []): CompiledQuery {
    const errors: RegoError[] = [];
    const env: ResolveEnv = { ...this.env, errors };
    if (pkg.length && !env.ruleNames.has(pkg.join('.'))) env.ruleNames.set(pkg.join('.'), new Set());
    const res = new Resolver(env, pkg, imports, text);
    let b = res.query(body);
    if (!errors.length) {
      const s = new Safety(this.env.functions, errors, text);
      b = s.reorder(b, new Set()).body;
    }
    if (errors.length) throw new RegoErrors(errors);
    b = foldBody(b);
    const capture = b.map((e) => this.captures(e));
    const checkCapture = b.length > 1 || b.some((e) => iterates(e));
    return { body: b, nslots: res.slots, vars: res.queryVars, text, capture, checkCapture };
  }

  private captures(e: Body[number]): boolean {
    if (e.negated) return false;
    const x = e.expr;
    if (x.type === 'term') return true;
    if (x.type !== 'callexpr') return false;
    const name = x.call.name!;
    if (name === 'eq' || name === 'assign' || name === 'print') return false;
    const arity = name.startsWith('data.')
      ? this.env.functions.get(name.slice(5))
      : DECLARED.get(name)?.args?.length;
    return arity === x.call.args.length;
  }
}

/** OPA's `iteration`: a ref with a variable key, or a relation builtin, outside comprehensions. */
function iterates(e: Body[number]): boolean {
  let found = false;
  walkExpr(e, {
    term: (t) => {
      if (found) return false;
      if (t.type === 'ref') found = t.terms.some((x, i) => i > 0 && x.type === 'var');
      else if (t.type === 'call') found = !!DECLARED.get(t.name ?? '')?.relation;
      return !found;
    },
    calls: true,
    closures: false,
  });
  return found;
}

function firstRulePath(n: RuleNode): string {
  if (n.rules.length || n.defaultRule) return n.path.join('.');
  for (const c of n.children.values()) if (c.virtual) return firstRulePath(c);
  return n.path.join('.');
}

/**
 * The slots a function parameter binds: its variables, also those inside arrays, sets, objects and
 * refs. Not those inside a call or a comprehension: unifying an argument with `abs(x)` or
 * `[y | …]` evaluates them, which needs their variables bound already (and a comprehension's
 * variables are its own).
 */
function collectSlots(t: Term, out: Set<number>): void {
  walkTerm(t, {
    term: (x) => {
      if (x.type === 'var' && x.slot >= 0) out.add(x.slot);
      return x.type !== 'call';
    },
    closures: false,
  });
}

/** Calls fn for every term of a rule (head, then body), comprehensions included, and for every call expression's call. */
function visitRuleTerms(r: Rule, fn: (t: Term) => void): void {
  const v: Visitor = { term: (t) => void fn(t), calls: true };
  for (const t of [...(r.head.args ?? []), ...r.head.ref.slice(1), r.head.key, r.head.value])
    if (t) walkTerm(t, v);
  walkBody(r.body, v);
}
