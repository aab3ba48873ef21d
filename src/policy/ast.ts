/** The Rego syntax tree. Every node carries a `loc` so errors can point at file:line:col. */
import type { Value } from './value.js';

export interface Location {
  file: string;
  row: number;
  col: number;
  /** Offsets into the source text, end exclusive. */
  start: number;
  end: number;
}

export interface Source {
  file: string;
  text: string;
}

interface Node {
  loc: Location;
}

export interface Scalar extends Node {
  type: 'scalar';
  value: null | boolean | number | bigint | string;
}
export interface Var extends Node {
  type: 'var';
  name: string;
  /** Frame slot, assigned by the compiler; -1 for globals (input, data). */
  slot: number;
  /** Set by the compiler for `_` and generated vars. */
  wildcard?: boolean;
}
export interface Ref extends Node {
  type: 'ref';
  /** terms[0] is the head (var, call, composite); the rest are keys. Dotted keys are string scalars. */
  terms: Term[];
}
export interface ArrayTerm extends Node {
  type: 'array';
  items: Term[];
}
export interface SetTerm extends Node {
  type: 'set';
  items: Term[];
}
export interface ObjectTerm extends Node {
  type: 'object';
  items: [Term, Term][];
}
export interface ArrayComp extends Node {
  type: 'arraycomp';
  term: Term;
  body: Body;
}
export interface SetComp extends Node {
  type: 'setcomp';
  term: Term;
  body: Body;
}
export interface ObjectComp extends Node {
  type: 'objectcomp';
  key: Term;
  value: Term;
  body: Body;
}
export interface Call extends Node {
  type: 'call';
  /** The function's name as written, e.g. `count`, `data.lib.f`, `lib.f`. */
  op: Ref;
  args: Term[];
  /** Filled by the compiler: the resolved name (`count`, or `data.pkg.f` for user functions). */
  name?: string;
}
/** A constant composite, folded by the compiler; `value` is the evaluated term. */
export interface Const extends Node {
  type: 'const';
  value: Value;
}

export type Term =
  Scalar | Var | Ref | ArrayTerm | SetTerm | ObjectTerm | ArrayComp | SetComp | ObjectComp | Call | Const;

export interface With extends Node {
  target: Ref;
  value: Term;
}

export interface SomeDecl extends Node {
  type: 'somedecl';
  vars: Var[];
}
export interface SomeIn extends Node {
  type: 'somein';
  key?: Term;
  value: Term;
  domain: Term;
}
export interface Every extends Node {
  type: 'every';
  key?: Term;
  value: Term;
  domain: Term;
  body: Body;
}
export interface TermExpr extends Node {
  type: 'term';
  term: Term;
}
export interface CallExpr extends Node {
  type: 'callexpr';
  call: Call;
}

export type ExprBody = SomeDecl | SomeIn | Every | TermExpr | CallExpr;

export interface Expr extends Node {
  expr: ExprBody;
  negated: boolean;
  with: With[];
  /** Index in the body as written (before safety reordering). */
  index: number;
}

export type Body = Expr[];

export type RuleKind = 'complete' | 'set' | 'object' | 'function';

export interface RuleHead extends Node {
  /** Full ref of the head, e.g. [p] or [a, b, c] or [p, x] for `p[x]`. */
  ref: Term[];
  args?: Term[];
  key?: Term;
  value?: Term;
  /** `:=` was used. */
  assign: boolean;
  /** `contains` was used (or v0 `p[x]` without a value). */
  contains: boolean;
}

export interface Rule extends Node {
  kind: RuleKind;
  head: RuleHead;
  body: Body;
  isDefault: boolean;
  else?: Rule;
  /** Package path + static head prefix, e.g. ["pkg", "p"]. Set by the compiler. */
  path: string[];
  /** For object rules: the key terms after the static prefix. */
  keyPath?: Term[];
  /** Number of frame slots the compiler assigned. */
  nslots: number;
  module: Module;
  /** Whether the body had no braces (body-less rule like `p := 1`). */
  bodyless: boolean;
}

export interface Import extends Node {
  path: Ref;
  alias?: string;
}

export interface Module {
  source: Source;
  package: { path: string[]; loc: Location };
  imports: Import[];
  rules: Rule[];
  regoVersion: 0 | 1;
}

export function str(s: string, loc: Location): Scalar {
  return { type: 'scalar', value: s, loc };
}

/** Reads a ref whose keys are all strings as a dotted path, or undefined. */
export function refToPath(r: Ref): string[] | undefined {
  const out: string[] = [];
  const h = r.terms[0];
  if (h.type !== 'var') return undefined;
  out.push(h.name);
  for (let i = 1; i < r.terms.length; i++) {
    const t = r.terms[i];
    if (t.type !== 'scalar' || typeof t.value !== 'string') return undefined;
    out.push(t.value);
  }
  return out;
}
