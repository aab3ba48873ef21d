/**
 * Compiler stage "CheckSafety": reorders each body so every variable is bound before it is needed
 * (OPA's reorderBodyForSafety) and reports the rest as rego_unsafe_var_error with locations.
 * Runs on resolved bodies (variables carry slots).
 */
import type { Body, Call, Expr, Term, Var } from './ast.js';
import { DECLARED } from './builtins/registry.js';
import { RegoError } from './errors.js';
import { closureLocals } from './resolve.js';
import { walkBody, walkTerm, type Visitor } from './walk.js';

interface Acc {
  needs: Map<number, Var>;
  unif: Map<number, Var>;
  refOut: Map<number, Var>;
}
type Mode = 'need' | 'unif' | 'key';

const newAcc = (): Acc => ({ needs: new Map(), unif: new Map(), refOut: new Map() });

export class Safety {
  constructor(
    private readonly functions: Map<string, number>,
    private readonly errors: RegoError[],
    private readonly source: string,
  ) {}

  private analyze(t: Term, mode: Mode, acc: Acc): void {
    switch (t.type) {
      case 'var':
        if (t.slot < 0) return;
        (mode === 'unif' ? acc.unif : mode === 'key' ? acc.refOut : acc.needs).set(t.slot, t);
        return;
      case 'ref': {
        const head = t.terms[0];
        if (head.type === 'var') {
          if (head.slot >= 0) acc.needs.set(head.slot, head);
        } else this.analyze(head, 'need', acc);
        for (let i = 1; i < t.terms.length; i++) this.analyze(t.terms[i], 'key', acc);
        return;
      }
      case 'array':
        for (const x of t.items) this.analyze(x, mode, acc);
        return;
      case 'object':
        for (const [k, v] of t.items) {
          this.analyze(k, mode === 'unif' ? 'need' : mode, acc);
          this.analyze(v, mode, acc);
        }
        return;
      case 'set':
        for (const x of t.items) this.analyze(x, mode === 'key' ? 'key' : 'need', acc);
        return;
      case 'call':
        for (const x of t.args) this.analyze(x, 'need', acc);
        return;
      case 'arraycomp':
      case 'setcomp':
      case 'objectcomp':
        for (const v of freeVars(t)) acc.needs.set(v.slot, v);
        return;
      case 'const':
      case 'scalar':
        break;
    }
  }

  private subset(m: Map<number, Var>, safe: Set<number>): boolean {
    for (const k of m.keys()) if (!safe.has(k)) return false;
    return true;
  }

  /** Outputs (new safe set) if `a = b` can run given `safe`, else null. */
  private unifyReady(a: Term, b: Term, safe: Set<number>): Set<number> | null {
    const A = newAcc();
    const B = newAcc();
    this.analyze(a, 'unif', A);
    this.analyze(b, 'unif', B);
    const s = new Set(safe);
    for (const k of A.refOut.keys()) s.add(k);
    for (const k of B.refOut.keys()) s.add(k);
    if (!this.subset(A.needs, s) || !this.subset(B.needs, s)) return null;
    if (this.subset(A.unif, s) || this.subset(B.unif, s)) {
      for (const k of A.unif.keys()) s.add(k);
      for (const k of B.unif.keys()) s.add(k);
      return s;
    }
    const pairs: [Term, Term][] = [];
    if (a.type === 'array' && b.type === 'array' && a.items.length === b.items.length)
      a.items.forEach((x, i) => pairs.push([x, b.items[i]]));
    else if (a.type === 'object' && b.type === 'object' && a.items.length === b.items.length)
      a.items.forEach(([, v], i) => pairs.push([v, b.items[i][1]]));
    else return null;
    let cur = s;
    const done = new Set<number>();
    for (let progress = true; progress && done.size < pairs.length;) {
      progress = false;
      pairs.forEach(([x, y], i) => {
        if (done.has(i)) return;
        const r = this.unifyReady(x, y, cur);
        if (r) {
          cur = r;
          done.add(i);
          progress = true;
        }
      });
    }
    return done.size === pairs.length ? cur : null;
  }

  private callArity(c: Call): number | undefined {
    const n = c.name ?? '';
    if (n.startsWith('data.')) return this.functions.get(n.slice(5));
    const d = DECLARED.get(n);
    return d?.args ? d.args.length : undefined;
  }

  /** New safe set if expression e can run now, else null. Also returns the vars it needs (for errors). */
  private exprReady(e: Expr, safe: Set<number>): { out: Set<number> | null; acc: Acc } {
    const acc = newAcc();
    for (const w of e.with) this.analyze(w.value, 'need', acc);
    const x = e.expr;
    let out: Set<number> | null = null;
    const withSafe = (): boolean => this.subset(acc.needs, safe);
    if (e.negated) {
      if (x.type === 'term') this.analyze(x.term, 'need', acc);
      else if (x.type === 'callexpr') for (const a of x.call.args) this.analyze(a, 'unif', acc);
      const all = [...acc.needs.values(), ...acc.unif.values(), ...acc.refOut.values()].filter(
        (v) => !v.wildcard,
      );
      out = all.every((v) => safe.has(v.slot)) ? safe : null;
      return { out, acc };
    }
    switch (x.type) {
      case 'term': {
        this.analyze(x.term, 'need', acc);
        const s = new Set([...safe, ...acc.refOut.keys()]);
        out = this.subset(acc.needs, s) ? s : null;
        break;
      }
      case 'callexpr': {
        const c = x.call;
        if (c.name === 'eq' || c.name === 'assign') {
          this.analyze(c.args[0], 'unif', acc);
          this.analyze(c.args[1], 'unif', acc);
          if (!withSafe()) break;
          if (c.name === 'assign') {
            const R = newAcc();
            this.analyze(c.args[1], 'need', R);
            const L = newAcc();
            this.analyze(c.args[0], 'unif', L);
            const s = new Set([...safe, ...R.refOut.keys(), ...L.refOut.keys()]);
            if (this.subset(R.needs, s) && this.subset(L.needs, s)) {
              for (const k of L.unif.keys()) s.add(k);
              out = s;
            }
          } else out = this.unifyReady(c.args[0], c.args[1], safe);
          break;
        }
        const ar = this.callArity(c);
        const hasOut = ar !== undefined && c.args.length === ar + 1;
        c.args.forEach((a, i) => this.analyze(a, hasOut && i === c.args.length - 1 ? 'unif' : 'need', acc));
        const s = new Set([...safe, ...acc.refOut.keys()]);
        if (this.subset(acc.needs, s)) {
          for (const k of acc.unif.keys()) s.add(k);
          out = s;
        }
        break;
      }
      case 'somein': {
        if (x.key) this.analyze(x.key, 'unif', acc);
        this.analyze(x.value, 'unif', acc);
        this.analyze(x.domain, 'need', acc);
        const s = new Set([...safe, ...acc.refOut.keys()]);
        if (this.subset(acc.needs, s)) {
          for (const k of acc.unif.keys()) s.add(k);
          out = s;
        }
        break;
      }
      case 'every': {
        this.analyze(x.domain, 'need', acc);
        for (const v of freeVarsOfBody(x.body, [x.key, x.value])) acc.needs.set(v.slot, v);
        const s = new Set([...safe, ...acc.refOut.keys()]);
        out = this.subset(acc.needs, s) ? s : null;
        break;
      }
      case 'somedecl':
        out = safe;
    }
    return { out, acc };
  }

  /** Reorders `body` for safety; checks closures inside; returns the new body and the final safe set. */
  reorder(body: Body, initSafe: Set<number>): { body: Body; safe: Set<number> } {
    let safe = new Set(initSafe);
    const pending = [...body];
    const ordered: Body = [];
    for (let progress = true; progress && pending.length;) {
      progress = false;
      for (let i = 0; i < pending.length; i++) {
        const { out } = this.exprReady(pending[i], safe);
        if (out) {
          this.checkClosures(pending[i], safe);
          ordered.push(pending[i]);
          safe = out;
          pending.splice(i, 1);
          progress = true;
          break;
        }
      }
    }
    if (pending.length) {
      const reported = new Set<number>();
      for (const e of pending) {
        const { acc } = this.exprReady(e, safe);
        const vars = [...acc.needs.values(), ...acc.unif.values(), ...acc.refOut.values()].sort(
          (a, b) => a.loc.start - b.loc.start,
        );
        for (const v of vars) {
          if (safe.has(v.slot) || reported.has(v.slot)) continue;
          if (e.negated && v.wildcard) continue;
          reported.add(v.slot);
          this.errors.push(
            new RegoError(
              'rego_unsafe_var_error',
              `var ${v.wildcard ? '_' : v.name} is unsafe`,
              v.loc,
              this.source,
            ),
          );
        }
      }
    }
    return { body: ordered, safe };
  }

  /** Vars of head terms must be bound by the body. */
  checkHead(terms: Term[], safe: Set<number>): void {
    const reported = new Set<number>();
    for (const t of terms) {
      const acc = newAcc();
      this.analyze(t, 'need', acc);
      for (const v of [...acc.needs.values(), ...acc.unif.values()]) {
        if (safe.has(v.slot) || reported.has(v.slot) || acc.refOut.has(v.slot)) continue;
        reported.add(v.slot);
        this.errors.push(
          new RegoError(
            'rego_unsafe_var_error',
            `var ${v.wildcard ? '_' : v.name} is unsafe`,
            v.loc,
            this.source,
          ),
        );
      }
    }
  }

  private checkClosures(e: Expr, safe: Set<number>): void {
    const x = e.expr;
    // each comprehension's body is reordered with what is safe here, and nothing below the
    // comprehension is visited (reorder runs checkClosures on its body's own expressions)
    const visit = (t: Term): void =>
      walkTerm(t, {
        term: (u) => {
          switch (u.type) {
            case 'arraycomp':
            case 'setcomp': {
              const r = this.reorder(u.body, safe);
              u.body = r.body;
              this.checkHead([u.term], r.safe);
              return false;
            }
            case 'objectcomp': {
              const r = this.reorder(u.body, safe);
              u.body = r.body;
              this.checkHead([u.key, u.value], r.safe);
              return false;
            }
            default:
              return true;
          }
        },
      });
    switch (x.type) {
      case 'term':
        visit(x.term);
        break;
      case 'callexpr':
        x.call.args.forEach(visit);
        break;
      case 'somein':
        visit(x.domain);
        break;
      case 'every': {
        visit(x.domain);
        const kv = newAcc();
        if (x.key) this.analyze(x.key, 'unif', kv);
        this.analyze(x.value, 'unif', kv);
        const s = new Set([...safe, ...kv.unif.keys(), ...kv.refOut.keys()]);
        const locals = closureLocals.get(x.body);
        x.body = this.reorder(x.body, s).body;
        if (locals) closureLocals.set(x.body, locals);
        break;
      }
      case 'somedecl':
        break;
    }
    for (const w of e.with) visit(w.value);
  }
}

/** Variables a comprehension uses from enclosing scopes. */
export function freeVars(t: Term): Var[] {
  if (t.type === 'arraycomp' || t.type === 'setcomp') return freeVarsOfBody(t.body, [t.term]);
  if (t.type === 'objectcomp') return freeVarsOfBody(t.body, [t.key, t.value]);
  return [];
}

export function freeVarsOfBody(body: Body, extra: (Term | undefined)[]): Var[] {
  const locals = new Set<number>();
  const found = new Map<number, Var>();
  const addLocals = (b: Body): void => {
    for (const s of closureLocals.get(b) ?? []) locals.add(s);
  };
  addLocals(body);
  const v: Visitor = {
    term: (t) => {
      if (t.type === 'var') {
        if (t.slot >= 0 && !found.has(t.slot)) found.set(t.slot, t);
      } else if (t.type === 'arraycomp' || t.type === 'setcomp' || t.type === 'objectcomp') addLocals(t.body);
    },
    expr: (e) => {
      if (e.expr.type === 'every') addLocals(e.expr.body);
    },
  };
  for (const t of extra) if (t) walkTerm(t, v);
  walkBody(body, v);
  return [...found.values()].filter((x) => !locals.has(x.slot));
}
