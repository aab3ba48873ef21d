/**
 * Rule values of one evaluation (or of one `with` scope), by node: OPA's topdown `virtualCache`.
 * Nodes are numbered per tree on first use, so a lookup is an array read; a node met under another
 * tree (never, in practice) goes to a map.
 */
import type { RuleNode } from '../compiler.js';
import type { Value } from '../value.js';
import type { PolicyTree } from './host.js';
import type { StaticMemo } from './static.js';

/** "Not in the cache" (undefined is a cached answer: the rule is undefined). */
export const NOT_CACHED = Symbol('uncached');

const UNDEFINED = Symbol('undefined');
const NODE_ID = Symbol('nodeId');
const NODE_TREE = Symbol('nodeTree');
const NODE_COUNT = Symbol('nodeCount');

export class ValueCache {
  private readonly byId: (Value | typeof UNDEFINED | undefined)[] = [];
  private other: Map<RuleNode, Value | undefined> | undefined;

  /** Values kept across evaluations (static.ts): the evaluation's own scope only. */
  constructor(
    private readonly tree: PolicyTree,
    readonly memo?: StaticMemo,
  ) {}

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
