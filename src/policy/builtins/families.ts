/**
 * Loads builtin families on demand: a policy pays only for the families it calls (js-yaml, the
 * parser for rego.parse_module, node:crypto and friends stay unloaded otherwise). The common small
 * families (core.ts) come with this module.
 */
import './core.js';
import type { CORE_FAMILIES } from './core.js';
import type { Family } from './decl.js';
import { DECLARED, IMPLS, RELATIONS } from './registry.js';

type Lazy = Exclude<Family, 'core' | (typeof CORE_FAMILIES)[number]>;

// Families are loaded in groups (a dynamic import costs about 1 ms, a group hardly more than one
// of its members): extra.ts (no dependencies), crypto-families.ts (node:crypto), yaml (js-yaml),
// rego (the parser).
const extra = (): Promise<unknown> => import('./extra.js');
const crypto = (): Promise<unknown> => import('./crypto-families.js');
const LOADERS: Record<Lazy, () => Promise<unknown>> = {
  encoding: extra,
  time: extra,
  net: extra,
  misc: extra,
  crypto,
  jwt: crypto,
  x509: crypto,
  aws: crypto,
  yaml: () => import('./yaml.js'),
  graphql: () => import('./graphql.js'),
  rego: () => import('./rego.js'),
};

/** The families needed for these builtin names that are not loaded yet. */
export function missingFamilies(names: Iterable<string>): Family[] {
  const out = new Set<Family>();
  for (const n of names) {
    const d = DECLARED.get(n);
    if (!d || d.family === 'core' || IMPLS.has(n) || RELATIONS.has(n)) continue;
    out.add(d.family);
  }
  return [...out];
}

/** Loads whatever families these builtins need. */
export async function loadBuiltins(names: Iterable<string>): Promise<void> {
  const fams = missingFamilies(names);
  if (fams.length) await Promise.all([...new Set(fams.map((f) => LOADERS[f as Lazy]))].map((load) => load()));
}

/** Every family (for the synchronous API). */
export async function loadAllBuiltins(): Promise<void> {
  await Promise.all([...new Set(Object.values(LOADERS))].map((l) => l()));
}
