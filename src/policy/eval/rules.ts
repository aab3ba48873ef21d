/**
 * Rules: the value of a complete, set or object rule, and function calls. Each clause (with its
 * else chain) is prepared once: its body compiled (tiers.ts), its head as a value function, its
 * parameters as a binder. A node evaluated often enough gets a generated whole evaluation
 * (jit.ts's generateWhole), tried before the clause-by-clause path.
 */
import type { Location, Rule, Term } from '../ast.js';
import type { RuleNode } from '../compiler.js';
import { paramBinder, valueFn, type ValueFn } from '../fast.js';
import { generateWhole, hotThreshold } from '../jit.js';
import { compiledBody, type CompiledBody } from '../tiers.js';
import { RObject, RSet, equal, type Value } from '../value.js';
import { NOT_CACHED } from './cache.js';
import type { Evaluator } from './evaluator.js';
import { MULTI, type Frame, type K } from './frame.js';
import type { FnRef, PolicyTree, RuleRef, Whole } from './host.js';
import { insertPath } from './paths.js';
import { MEMO_UNDEFINED } from './static.js';

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
const CLAUSES = Symbol('clauses');
/** A node's generated whole evaluation (jit.ts); fn null when it has none (or stopped using it). */
const WHOLE = Symbol('whole');
const FN_NODES = new WeakMap<PolicyTree, Map<string, RuleNode>>();

const TRUE_TERM: Term = { type: 'scalar', value: true, loc: { file: '', row: 0, col: 0, start: 0, end: 0 } };

/** A node's value by its generated whole evaluation (jit.ts), or MULTI. */
function whole(ev: Evaluator, node: RuleNode, args: Value[] | undefined): Value | undefined | typeof MULTI {
  return runWhole(ev, wholeOf(node), args);
}

/** A node's generated whole evaluation (made on first use). */
function wholeOf(node: RuleNode): Whole {
  const n = node as RuleNode & { [WHOLE]?: Whole };
  return (n[WHOLE] ??= { fn: undefined, misses: 0, uses: 0, node });
}

function runWhole(ev: Evaluator, w: Whole, args: Value[] | undefined): Value | undefined | typeof MULTI {
  if (w.fn === undefined) {
    // cold: clause by clause until it has been used a few times (see hotThreshold)
    if (w.uses++ < hotThreshold()) return MULTI;
    w.fn = generateWhole(w.node, ev) ?? null;
  }
  if (w.fn === null) return MULTI;
  const v = w.fn(ev, args);
  if (v === MULTI) missed(ev, w);
  return v;
}

/**
 * A whole evaluation answered MULTI. One that needed the general path for another reason than a
 * mock, a data override or coverage: after a few of those, this node is always evaluated clause by
 * clause.
 */
function missed(ev: Evaluator, w: Whole): void {
  if (!ev.mocks && !ev.covered && !ev.dataOverrides && ++w.misses > 8) w.fn = null;
}

/** The value of the rule a constant data ref reaches (generated code). */
export function ruleAt(ev: Evaluator, r: RuleRef): Value | undefined {
  const v = ev.vcache.at(r.id);
  if (v !== NOT_CACHED) return v;
  const node = r.node;
  // a complete or set rule without rules below it: its generated whole evaluation, through the
  // static memo (static.ts's memoized, spelled out here: no closure per call)
  if (!(r.leaf ??= node.children.size === 0 && (node.kind === 'complete' || node.kind === 'set')))
    return ev.nodeValue(node, undefined, r.path);
  const id = r.id;
  const memo = ev.vcache.memo;
  if (memo === undefined || id < 0 || ev.covered !== undefined || !(r.static ??= memo.holds(node))) {
    const x = runWhole(ev, (r.whole ??= wholeOf(node)), undefined);
    if (x === MULTI) return ev.nodeValue(node, undefined, r.path); // kept in the value cache by nodeValue
    ev.vcache.setAt(id, x);
    return x;
  }
  const kept = memo.get(id);
  if (kept !== undefined) {
    ev.charge(memo.cost(id));
    const w = kept === MEMO_UNDEFINED ? undefined : kept;
    ev.vcache.setAt(id, w);
    return w;
  }
  const before = ev.steps;
  let w = runWhole(ev, (r.whole ??= wholeOf(node)), undefined);
  const multi = w === MULTI;
  if (multi) w = ev.nodeValue(node, undefined, r.path); // kept in the value cache by nodeValue
  memo.set(id, w as Value | undefined, ev.steps - before);
  if (!multi) ev.vcache.setAt(id, w as Value | undefined);
  return w as Value | undefined;
}

/** Calls the function at `r.node` (generated code). */
export function callAt(ev: Evaluator, r: FnRef, args: Value[]): Value | undefined {
  const v = runWhole(ev, (r.whole ??= wholeOf(r.node)), args);
  return v !== MULTI ? v : callClauses(ev, r.node, args);
}

/**
 * ruleAt once `r.whole.fn`, called by generated code itself for a leaf rule whose value is not
 * kept across evaluations (`r.static` false), has answered MULTI: counted, then the general path
 * (which keeps the value in the evaluation's cache).
 */
export function ruleMissed(ev: Evaluator, r: RuleRef): Value | undefined {
  missed(ev, r.whole!);
  return ev.nodeValue(r.node, undefined, r.path);
}

/** callAt once `r.whole.fn`, called by generated code itself, has answered MULTI. */
export function callMissed(ev: Evaluator, r: FnRef, args: Value[]): Value | undefined {
  missed(ev, r.whole!);
  return callClauses(ev, r.node, args);
}

export function ruleValue(ev: Evaluator, node: RuleNode): Value | undefined {
  if (node.kind === 'complete' || node.kind === 'set') {
    const v = whole(ev, node, undefined);
    if (v !== MULTI) return v;
  }
  switch (node.kind) {
    case 'complete':
      return singleValue(ev, node, 'complete rules must not produce multiple outputs');
    case 'set': {
      const out = new RSet();
      const add = (v: Value): boolean => (out.add(v), false);
      const cs = clausesOf(ev, node);
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i];
        const r = c.rule;
        const f: Frame = new Array(c.nslots);
        const body = c.body;
        const j = body.straight(ev, f);
        if (j < 0) continue;
        if (j === body.length) {
          // the common case: the body held once; the key has one value
          if (ev.covered) ev.covered(r);
          const v = c.head(ev, f);
          if (v === MULTI) ev.evalTerm(r.head.key!, f, add);
          else if (v !== undefined) out.add(v);
          continue;
        }
        body.run(
          ev,
          f,
          () => {
            if (ev.covered) ev.covered(r);
            return ev.evalTerm(r.head.key!, f, add);
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
        ev.evalBody(r.body, 0, f, () => {
          if (ev.covered) ev.covered(r);
          return ev.evalItems(kp, 0, f, [], (keys) =>
            ev.evalTerm(val, f, (v) => {
              insertPath(out, keys, v, () =>
                ev.error('eval_conflict_error', 'object keys must be unique', r.loc),
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
function evalRuleChain(ev: Evaluator, first: Clause, conflictMsg: string, args?: Value[]): Value | undefined {
  for (let c: Clause | undefined = first; c; c = c.next) {
    const rule = c.rule;
    const f: Frame = new Array(c.nslots);
    const body = c.body;
    if (args) {
      const bind = c.bind;
      if (!bind) {
        const v = evalClauseGeneric(ev, rule, f, conflictMsg, (k) =>
          unifyArgs(ev, rule.head.args!, args, 0, f, () => body.run(ev, f, k, 0)),
        );
        if (v !== undefined) return v;
        continue;
      }
      if (!bind(f, args)) continue;
    }
    // the common case: every expression simple, one solution, no continuations
    const j = body.straight(ev, f);
    if (j < 0) continue;
    let v: Value | undefined | typeof MULTI = MULTI;
    if (j === body.length) {
      if (ev.covered) ev.covered(rule);
      v = c.head(ev, f);
      if (v === undefined) continue;
      if (v !== MULTI) {
        ev.lastRule = rule;
        return v;
      }
    }
    const w = evalClauseGeneric(
      ev,
      rule,
      f,
      conflictMsg,
      j === body.length ? (k) => k() : (k) => body.run(ev, f, k, j),
    );
    if (w !== undefined) return w;
  }
  return undefined;
}

/** The compiled clauses (with their else chains) of a node's rules, prepared on first use. */
function clausesOf(ev: Evaluator, node: RuleNode): Clause[] {
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
          body: compiledBody(x.body, ev),
          // a set rule's clause yields its key
          head: valueFn(node.kind === 'set' ? x.head.key! : (x.head.value ?? TRUE_TERM), ev),
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
function evalClauseGeneric(
  ev: Evaluator,
  rule: Rule,
  f: Frame,
  conflictMsg: string,
  start: (k: K) => boolean,
): Value | undefined {
  let value: Value | undefined;
  const vt = rule.head.value ?? TRUE_TERM;
  const constant = vt.type === 'scalar' || vt.type === 'const';
  const found = (v: Value): boolean => {
    if (value !== undefined && !equal(value, v)) throw ev.error('eval_conflict_error', conflictMsg, rule.loc);
    value = v;
    return constant;
  };
  start(() => {
    if (ev.covered) ev.covered(rule);
    return ev.evalTerm(vt, f, found);
  });
  if (value !== undefined) ev.lastRule = rule;
  return value;
}

function unifyArgs(ev: Evaluator, params: Term[], args: Value[], i: number, f: Frame, k: K): boolean {
  if (i === params.length) return k();
  return ev.unifyValue(params[i], args[i], f, () => unifyArgs(ev, params, args, i + 1, f, k));
}

export function callFunction(ev: Evaluator, name: string, args: Value[], loc: Location): Value | undefined {
  let node = FN_NODES.get(ev.tree)?.get(name);
  if (!node) {
    node = ev.tree.findNode(name.slice(5).split('.'));
    if (node) {
      let m = FN_NODES.get(ev.tree);
      if (!m) FN_NODES.set(ev.tree, (m = new Map()));
      m.set(name, node);
    }
  }
  if (!node) throw ev.error('eval_type_error', `undefined function ${name}`, loc);
  return callNode(ev, node, args);
}

/** Calls the function defined at a rule node. */
export function callNode(ev: Evaluator, node: RuleNode, args: Value[]): Value | undefined {
  const v = whole(ev, node, args);
  return v !== MULTI ? v : callClauses(ev, node, args);
}

/** callNode clause by clause. */
function callClauses(ev: Evaluator, node: RuleNode, args: Value[]): Value | undefined {
  return singleValue(ev, node, 'functions must not produce multiple outputs for same inputs', args);
}

/**
 * The one value of a complete rule or a function call: every clause (with its else chain)
 * evaluated, differing values a conflict, the default when none is defined.
 */
function singleValue(ev: Evaluator, node: RuleNode, conflictMsg: string, args?: Value[]): Value | undefined {
  let result: Value | undefined;
  const cs = clausesOf(ev, node);
  for (let i = 0; i < cs.length; i++) {
    const v = evalRuleChain(ev, cs[i], conflictMsg, args);
    if (v === undefined) continue;
    if (result !== undefined && !equal(result, v))
      throw ev.error('eval_conflict_error', conflictMsg, ev.lastRule!.loc);
    result = v;
  }
  if (result === undefined && node.defaultRule) {
    result = ev.firstValue(node.defaultRule.head.value!, []);
    if (ev.covered) ev.covered(node.defaultRule);
  }
  return result;
}
