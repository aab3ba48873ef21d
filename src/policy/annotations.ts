/**
 * `# METADATA` annotations (YAML in comment blocks above a package or a rule) and the compiler
 * stage that turns `rego.metadata.rule()` / `rego.metadata.chain()` into constants, as OPA's
 * RewriteRegoMetadataCalls does. YAML is read with js-yaml, loaded only when a module has a block.
 */
import { createRequire } from 'node:module';
import type { Module, Rule } from './ast.js';
import { RegoError } from './errors.js';
import { RObject, fromJSON, type Value } from './value.js';

interface Block {
  /** 1-based row of the first non-comment line after the block. */
  target: number;
  /** 1-based row of the `# METADATA` line. */
  row: number;
  yaml: string;
}

export interface Annotation {
  scope: string;
  path: string[];
  value: RObject;
}

type Yaml = { load(text: string): unknown };
let yamlLib: Yaml | undefined;
function yaml(): Yaml {
  yamlLib ??= createRequire(import.meta.url)('js-yaml') as Yaml;
  return yamlLib;
}

function blocks(text: string): Block[] {
  if (!text.includes('METADATA')) return [];
  const lines = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*#\s*METADATA\s*$/.test(lines[i])) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && /^\s*#/.test(lines[j]); j++) body.push(lines[j].replace(/^\s*# ?/, ''));
    while (j < lines.length && lines[j].trim() === '') j++;
    out.push({ row: i + 1, target: j + 1, yaml: body.join('\n') });
    i = j - 1;
  }
  return out;
}

function author(v: unknown): Value {
  if (typeof v !== 'string') return fromJSON(v);
  const m = /^(.*?)\s*<([^>]+)>\s*$/.exec(v);
  const o = new RObject();
  if (m) {
    if (m[1]) o.set('name', m[1]);
    o.set('email', m[2]);
  } else o.set('name', v.trim());
  return o;
}

function annotationValue(raw: Record<string, unknown>, scope: string): RObject {
  const o = new RObject();
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined) continue;
    if (k === 'authors') o.set(k, (Array.isArray(v) ? v : [v]).map(author));
    else if (k === 'related_resources')
      o.set(
        k,
        (Array.isArray(v) ? v : [v]).map((x) => fromJSON(typeof x === 'string' ? { ref: x } : x)),
      );
    else o.set(k, fromJSON(v));
  }
  o.set('scope', scope);
  return o;
}

const CACHE = new WeakMap<Module, Map<Rule | undefined, Annotation>>();

/** Annotations of a module, keyed by the rule they sit on (package ones under `undefined`). */
export function moduleAnnotations(m: Module): Map<Rule | undefined, Annotation> {
  const hit = CACHE.get(m);
  if (hit) return hit;
  const out = new Map<Rule | undefined, Annotation>();
  CACHE.set(m, out);
  for (const b of blocks(m.source.text)) {
    let raw: unknown;
    try {
      raw = yaml().load(b.yaml) ?? {};
    } catch (e) {
      throw new RegoError(
        'rego_parse_error',
        `yaml: ${(e as Error).message.split('\n')[0]}`,
        { file: m.source.file, row: b.row, col: 1, start: 0, end: 0 },
        m.source.text,
      );
    }
    if (typeof raw !== 'object' || raw === null) continue;
    const r = raw as Record<string, unknown>;
    if (b.target === m.package.loc.row) {
      const scope = typeof r.scope === 'string' ? r.scope : 'package';
      out.set(undefined, { scope, path: m.package.path, value: annotationValue(r, scope) });
      continue;
    }
    const rule = m.rules.find((x) => x.loc.row === b.target);
    if (!rule) continue;
    const scope = typeof r.scope === 'string' ? r.scope : 'rule';
    out.set(rule, { scope, path: rule.path, value: annotationValue(r, scope) });
  }
  return out;
}

/** The constant values of rego.metadata.rule() and rego.metadata.chain() for a rule. */
export function metadataFor(rule: Rule, all: Module[]): { rule: Value; chain: Value } {
  const own = moduleAnnotations(rule.module);
  const mine = own.get(rule);
  const chain: Value[] = [];
  const entry = (path: string[], a?: Annotation): RObject => {
    const o = new RObject();
    o.set('path', path);
    if (a) o.set('annotations', a.value);
    return o;
  };
  chain.push(entry(rule.path, mine?.scope === 'rule' ? mine : undefined));
  const key = rule.path.join('.');
  for (const m of all) {
    for (const [r, a] of moduleAnnotations(m)) {
      if (r && a.scope === 'document' && r.path.join('.') === key) chain.push(entry(rule.path, a));
    }
  }
  for (const m of all) {
    const a = moduleAnnotations(m).get(undefined);
    if (a && a.scope === 'package' && m.package.path.join('.') === rule.module.package.path.join('.'))
      chain.push(entry(m.package.path, a));
  }
  return { rule: mine ? mine.value : new RObject(), chain };
}
