/**
 * Rule values that hold across evaluations of a prepared query. A rule whose value depends on
 * nothing but the data document and constants (no `input`, no rule or function that reads it, no
 * nondeterministic builtin, no print, no `with`) has the same value in every evaluation of a
 * prepared query, whose data is fixed: the default policy's constant sets and its thresholds read
 * from data. Such a rule is evaluated once per prepared query and its value kept here; each later
 * evaluation reads it as if it had computed it, and is charged the steps the first one took.
 *
 * Only the evaluation's own scope uses the memo (a `with` scope has a value cache of its own, see
 * with.ts), never under coverage (its callbacks must see every rule evaluated), and one memo per
 * setting of strict builtin errors (a builtin error makes a rule undefined, or aborts).
 */
import type { Body, Rule, Term } from '../ast.js';
import { DECLARED } from '../builtins/registry.js';
import type { RuleNode } from '../compiler.js';
import type { Value } from '../value.js';
import { walkBody, walkTerm, type Visitor } from '../walk.js';
import type { PolicyTree } from './host.js';

const UNDEFINED = Symbol('undefined');
/** Per tree: node → whether its value is the same in every evaluation with the same data. */
const STATIC = new WeakMap<PolicyTree, Map<RuleNode, boolean>>();

export class StaticMemo {
  /** By node number (ValueCache.id): the value (UNDEFINED for undefined), and the steps it took. */
  private readonly vals: (Value | typeof UNDEFINED | undefined)[] = [];
  private readonly costs: number[] = [];
  private readonly known: Map<RuleNode, boolean>;

  constructor(readonly tree: PolicyTree) {
    let m = STATIC.get(tree);
    if (!m) STATIC.set(tree, (m = new Map()));
    this.known = m;
  }

  /** True if the node's value may be kept across evaluations. */
  holds(node: RuleNode): boolean {
    const k = this.known.get(node);
    return k !== undefined ? k : isStatic(this.tree, node, this.known);
  }

  /** The kept value (undefined: not kept, UNDEFINED: kept as undefined) and its cost in steps. */
  get(id: number): Value | typeof UNDEFINED | undefined {
    return this.vals[id];
  }
  cost(id: number): number {
    return this.costs[id];
  }

  set(id: number, v: Value | undefined, steps: number): void {
    for (let i = this.vals.length; i < id; i++) {
      this.vals.push(undefined);
      this.costs.push(0);
    }
    this.vals[id] = v === undefined ? UNDEFINED : v;
    this.costs[id] = steps;
  }
}

export { UNDEFINED as MEMO_UNDEFINED };

/** Builtins whose result is not a function of their arguments alone, or that have an effect. */
function impure(name: string): boolean {
  if (name === 'eq' || name === 'assign') return false;
  if (name === 'print' || name === 'trace' || name === 'opa.runtime') return true;
  const d = DECLARED.get(name);
  return !d || !!d.nondeterministic;
}

function isStatic(tree: PolicyTree, node: RuleNode, known: Map<RuleNode, boolean>): boolean {
  if (node.kind !== 'complete' && node.kind !== 'set' && node.kind !== 'object' && node.kind !== 'function')
    return false;
  // a cycle (the compiler rejects recursion) counts as static while it is being decided
  known.set(node, true);
  let ok = true;
  const dep = (n: RuleNode): void => {
    if (ok && !(known.get(n) ?? isStatic(tree, n, known))) ok = false;
  };
  const visitor: Visitor = {
    calls: true,
    withTargets: true,
    expr: (e) => {
      if (e.with.length) ok = false;
      return ok;
    },
    term: (t) => {
      if (!ok) return false;
      const into = checkTerm(tree, t, dep, () => (ok = false));
      if (into !== undefined) for (const x of into) walkTerm(x, visitor);
      return ok && into === undefined;
    },
  };
  const rules: Rule[] = [...node.rules];
  if (node.defaultRule) rules.push(node.defaultRule);
  for (const r of rules)
    for (let x: Rule | undefined = r; x && ok; x = x.else) {
      const h = x.head;
      // the head's first term is the rule's name
      const terms: Term[] = [...h.ref.slice(1), ...(h.args ?? []), ...(x.keyPath ?? [])];
      if (h.key) terms.push(h.key);
      if (h.value) terms.push(h.value);
      for (const t of terms) walkTerm(t, visitor);
      walkBody(x.body as Body, visitor);
    }
  known.set(node, ok);
  return ok;
}

/**
 * Reports what a term reads (a rule or function node to `dep`, anything per-evaluation to
 * `dynamic`). For a ref from `data`, returns its key terms: the visitor walks those instead of the
 * ref (its head `data` is no global read as a whole).
 */
function checkTerm(
  tree: PolicyTree,
  t: Term,
  dep: (n: RuleNode) => void,
  dynamic: () => void,
): Term[] | undefined {
  switch (t.type) {
    case 'var':
      // input, data as a whole, or another global
      if (t.slot < 0) dynamic();
      return undefined;
    case 'call': {
      const name = t.name;
      if (name === undefined) dynamic();
      else if (name.startsWith('data.')) {
        const n = tree.findNode(name.slice(5).split('.'));
        if (n) dep(n);
        else dynamic();
      } else if (impure(name)) dynamic();
      return undefined;
    }
    case 'ref': {
      const head = t.terms[0];
      if (head.type !== 'var' || head.slot >= 0 || head.name !== 'data') return undefined; // input: the var
      const keys = t.terms.slice(1);
      let node: RuleNode | undefined = tree.root;
      for (let i = 0; ; i++) {
        if (!node || !node.virtual) break; // base data: fixed for the prepared query
        if (node.kind !== undefined) {
          dep(node);
          break;
        }
        const k = keys[i];
        // a package's whole document, or a key chosen at run time
        if (!k || (k.type !== 'scalar' && k.type !== 'const') || typeof k.value !== 'string') {
          dynamic();
          break;
        }
        node = node.children.get(k.value);
      }
      return keys;
    }
    case 'scalar':
    case 'const':
    case 'array':
    case 'set':
    case 'object':
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp':
      return undefined;
  }
}

/**
 * A rule node's value through the memo of the evaluation's value cache, if it has one and the node
 * qualifies: the kept value (its steps charged), else `compute(ev, node)`, kept for later
 * evaluations. (compute takes its arguments, so callers need no closure per call.)
 */
export function memoized<E extends MemoHost>(
  ev: E,
  node: RuleNode,
  id: number,
  compute: (ev: E, node: RuleNode) => Value | undefined,
): Value | undefined {
  const memo = ev.vcache.memo;
  if (memo === undefined || id < 0 || ev.covered !== undefined || !memo.holds(node)) return compute(ev, node);
  const kept = memo.get(id);
  if (kept !== undefined) {
    ev.charge(memo.cost(id));
    return kept === UNDEFINED ? undefined : kept;
  }
  const before = ev.steps;
  const v = compute(ev, node);
  memo.set(id, v, ev.steps - before);
  return v;
}

/** What memoized needs of an evaluation. */
interface MemoHost {
  vcache: { memo?: StaticMemo };
  steps: number;
  charge(n: number): void;
  covered?: unknown;
}
