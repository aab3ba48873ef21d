/**
 * Parse + compile for the decision path (decide.ts): modules and one query become a plain,
 * serialisable CompiledPolicy (what the compile cache stores), plus the builtins it calls.
 */
import type { Body, Module, Term } from './ast.js';
import { Compiler, type CompiledQuery, type RuleNode } from './compiler.js';
import { RegoError, RegoErrors } from './errors.js';
import { parseModule, parseQuery } from './parser.js';
import { visitBodyCalls, visitTerm } from './walk.js';

export interface CompiledPolicy {
  modules: Module[];
  root: RuleNode;
  functions: Map<string, number>;
  query: CompiledQuery;
  /** Builtin names the rules and the query call (or mock with `with`). */
  builtins: string[];
}

export function compilePolicy(
  sources: { file: string; text: string }[],
  query: string,
  opts: { v0Compatible?: boolean } = {},
): CompiledPolicy {
  const parsed: Module[] = [];
  const errors: RegoError[] = [];
  for (const m of sources) {
    try {
      parsed.push(parseModule(m.text, m.file, { regoVersion: opts.v0Compatible ? 0 : 1 }));
    } catch (e) {
      if (e instanceof RegoError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length) throw new RegoErrors(errors);
  const c = new Compiler(parsed).compile();
  const q = c.compileQuery(parseQuery(query, { regoVersion: 1 }), query);
  return {
    modules: c.modules,
    root: c.root,
    functions: c.env.functions,
    query: q,
    builtins: [...builtinsCalled(c.modules, q.body)],
  };
}

/** Names of builtins (not user functions) called anywhere in the modules or the query. */
export function builtinsCalled(modules: Module[], query: Body): Set<string> {
  const out = new Set<string>();
  const term = (t: Term): void => {
    if (t.type === 'call' && t.name && !t.name.startsWith('data.')) out.add(t.name);
    else if (t.type === 'var' && t.name.startsWith('$fn:')) out.add(t.name.slice(4));
  };
  // call expressions and `with` targets (mocked functions) included
  const body = (b: Body): void => visitBodyCalls(b, term);
  body(query);
  for (const m of modules)
    for (const r of m.rules)
      for (let x: typeof r | undefined = r; x; x = x.else) {
        body(x.body);
        for (const t of [
          ...(x.head.args ?? []),
          ...x.head.ref.slice(1),
          ...(x.keyPath ?? []),
          x.head.key,
          x.head.value,
        ])
          if (t) visitTerm(t, term);
      }
  return out;
}
