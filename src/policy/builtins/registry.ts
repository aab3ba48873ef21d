/** Builtin registry: implementations register by declared name; unknown names fail loudly at startup. */
import { DECLS } from './decl.js';
import type { BuiltinDecl, BuiltinImpl, RelationImpl } from './types.js';

export const DECLARED = new Map<string, BuiltinDecl>(DECLS.map((d) => [d.name, d]));
export const IMPLS = new Map<string, BuiltinImpl>();
export const RELATIONS = new Map<string, RelationImpl>();

export function register(name: string, impl: BuiltinImpl): void {
  const d = DECLARED.get(name);
  if (!d) throw new Error(`builtin ${name} is implemented but not declared in decl.ts`);
  if (d.relation) throw new Error(`builtin ${name} is a relation; use registerRelation`);
  IMPLS.set(name, impl);
}

export function registerRelation(name: string, impl: RelationImpl): void {
  const d = DECLARED.get(name);
  if (!d?.relation) throw new Error(`builtin ${name} is not declared as a relation`);
  RELATIONS.set(name, impl);
}
