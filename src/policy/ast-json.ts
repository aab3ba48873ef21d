/** OPA's JSON form of a parsed module (what rego.parse_module returns), without locations. */
import type { Body, Expr, Module, Rule, Term } from './ast.js';
import { fromJSON, toJSON, type Value } from './value.js';

type J = Record<string, unknown>;

function scalarType(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return 'number';
  return typeof v;
}

function term(t: Term): J {
  switch (t.type) {
    case 'scalar':
      return { type: scalarType(t.value), value: t.value };
    case 'const':
      return { type: 'const', value: toJSON(t.value) };
    case 'var':
      return { type: 'var', value: t.name };
    case 'ref':
      return { type: 'ref', value: t.terms.map(term) };
    case 'array':
      return { type: 'array', value: t.items.map(term) };
    case 'set':
      return { type: 'set', value: t.items.map(term) };
    case 'object':
      return { type: 'object', value: t.items.map(([k, v]) => [term(k), term(v)]) };
    case 'call':
      return { type: 'call', value: [term(t.op), ...t.args.map(term)] };
    case 'arraycomp':
      return { type: 'arraycomprehension', value: { term: term(t.term), body: body(t.body) } };
    case 'setcomp':
      return { type: 'setcomprehension', value: { term: term(t.term), body: body(t.body) } };
    case 'objectcomp':
      return {
        type: 'objectcomprehension',
        value: { key: term(t.key), value: term(t.value), body: body(t.body) },
      };
  }
}

function expr(e: Expr, i: number): J {
  const x = e.expr;
  const out: J = { index: i };
  switch (x.type) {
    case 'term':
      out.terms = term(x.term);
      break;
    case 'callexpr':
      out.terms = [term(x.call.op), ...x.call.args.map(term)];
      break;
    case 'somedecl':
      out.terms = { type: 'some', value: x.vars.map(term) };
      break;
    case 'somein':
      out.terms = {
        type: 'some',
        value: [
          {
            type: 'call',
            value: [
              {
                type: 'ref',
                value: [
                  { type: 'var', value: 'internal' },
                  { type: 'string', value: x.key ? 'member_3' : 'member_2' },
                ],
              },
              ...(x.key ? [term(x.key)] : []),
              term(x.value),
              term(x.domain),
            ],
          },
        ],
      };
      break;
    case 'every':
      out.terms = {
        type: 'every',
        value: {
          key: x.key ? term(x.key) : null,
          value: term(x.value),
          domain: term(x.domain),
          body: body(x.body),
        },
      };
      break;
  }
  if (e.negated) out.negated = true;
  if (e.with.length) out.with = e.with.map((w) => ({ target: term(w.target), value: term(w.value) }));
  return out;
}

function body(b: Body): J[] {
  return [...b].sort((a, c) => a.index - c.index).map((e, i) => expr(e, i));
}

function rule(r: Rule): J {
  const h = r.head;
  const first = h.ref[0];
  const head: J = { name: first.type === 'var' ? first.name : '', ref: h.ref.map(term) };
  if (h.args) head.args = h.args.map(term);
  if (h.key) head.key = term(h.key);
  if (h.value) head.value = term(h.value);
  if (h.assign) head.assign = true;
  const out: J = {
    head,
    body: r.body.length ? body(r.body) : [{ index: 0, terms: { type: 'boolean', value: true } }],
  };
  if (r.isDefault) out.default = true;
  if (r.else) out.else = rule(r.else);
  return out;
}

export function moduleToValue(m: Module): Value {
  const json: J = {
    package: {
      path: [{ type: 'var', value: 'data' }, ...m.package.path.map((p) => ({ type: 'string', value: p }))],
    },
    rules: m.rules.map(rule),
  };
  if (m.imports.length)
    json.imports = m.imports.map((i) => ({ path: term(i.path), ...(i.alias ? { alias: i.alias } : {}) }));
  return fromJSON(json);
}
