/**
 * Schema and query validation for graphql.*, after gqlparser's validator: the schema rules of
 * ValidateSchemaDocument (with the builtin prelude) and the query rules policies rely on most
 * (fields exist, arguments known and required ones given, leaf selections, fragments and
 * variables defined and used, directives known). Documents are the parser's objects, or OPA's
 * pruned JSON of them (missing lists mean empty).
 */
import { GraphQLError } from './graphql-parser.js';

type Obj = Record<string, unknown>;
interface TypeRef {
  NamedType?: string;
  Elem?: TypeRef;
  NonNull?: boolean;
}
interface Def {
  Kind: string;
  Name: string;
  Fields: Obj[];
  Interfaces: string[];
  Types: string[];
  EnumValues: Obj[];
  Directives: Obj[];
  BuiltIn?: boolean;
}
interface Schema {
  types: Map<string, Def>;
  directives: Map<string, Obj>;
  query?: Def;
  mutation?: Def;
  subscription?: Def;
}

const list = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : []);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');
const err = (msg: string, at?: unknown): GraphQLError => {
  const p = at as { line?: number; col?: number } | undefined;
  return new GraphQLError(msg, p?.line ?? 0, p?.col ?? 0);
};
const typeName = (t: TypeRef | undefined): string => (!t ? '' : t.Elem ? typeName(t.Elem) : str(t.NamedType));
const typeString = (t: TypeRef | undefined): string =>
  !t ? '' : (t.Elem ? `[${typeString(t.Elem)}]` : str(t.NamedType)) + (t.NonNull ? '!' : '');

const SCALARS = ['Int', 'Float', 'String', 'Boolean', 'ID'];
const PRELUDE_DIRECTIVES: Obj[] = [
  {
    Name: 'include',
    Arguments: [{ Name: 'if', Type: { NamedType: 'Boolean', NonNull: true } }],
    Locations: ['FIELD', 'FRAGMENT_SPREAD', 'INLINE_FRAGMENT'],
  },
  {
    Name: 'skip',
    Arguments: [{ Name: 'if', Type: { NamedType: 'Boolean', NonNull: true } }],
    Locations: ['FIELD', 'FRAGMENT_SPREAD', 'INLINE_FRAGMENT'],
  },
  {
    Name: 'deprecated',
    Arguments: [
      {
        Name: 'reason',
        Type: { NamedType: 'String' },
        DefaultValue: { Raw: 'No longer supported', Kind: 3 },
      },
    ],
    Locations: ['FIELD_DEFINITION', 'ARGUMENT_DEFINITION', 'INPUT_FIELD_DEFINITION', 'ENUM_VALUE'],
  },
  {
    Name: 'specifiedBy',
    Arguments: [{ Name: 'url', Type: { NamedType: 'String', NonNull: true } }],
    Locations: ['SCALAR'],
  },
  { Name: 'oneOf', Arguments: [], Locations: ['INPUT_OBJECT'] },
];

function def(o: Obj): Def {
  return {
    Kind: str(o.Kind),
    Name: str(o.Name),
    Fields: [...list<Obj>(o.Fields)],
    Interfaces: [...list<string>(o.Interfaces)],
    Types: [...list<string>(o.Types)],
    EnumValues: [...list<Obj>(o.EnumValues)],
    Directives: [...list<Obj>(o.Directives)],
    BuiltIn: o.BuiltIn === true,
  };
}

/** Builds and checks the schema; throws the first error. */
function loadSchema(doc: Obj): Schema {
  const s: Schema = { types: new Map(), directives: new Map() };
  for (const n of SCALARS)
    s.types.set(n, {
      Kind: 'SCALAR',
      Name: n,
      Fields: [],
      Interfaces: [],
      Types: [],
      EnumValues: [],
      Directives: [],
      BuiltIn: true,
    });
  for (const d of PRELUDE_DIRECTIVES) s.directives.set(str(d.Name), d);
  const defs: Def[] = [];
  for (const o of list<Obj>(doc.Definitions)) {
    const d = def(o);
    if (s.types.has(d.Name) && !s.types.get(d.Name)!.BuiltIn) throw err(`Cannot redeclare type ${d.Name}.`);
    s.types.set(d.Name, d);
    defs.push(d);
  }
  for (const o of list<Obj>(doc.Extensions)) {
    const ext = def(o);
    let d = s.types.get(ext.Name);
    if (!d) {
      d = { ...def({ Kind: ext.Kind, Name: ext.Name }) };
      s.types.set(ext.Name, d);
      defs.push(d);
    }
    if (d.Kind !== ext.Kind)
      throw err(`Cannot extend type ${ext.Name} because the base type is a ${d.Kind}, not ${ext.Kind}.`);
    d.Directives.push(...ext.Directives);
    d.Interfaces.push(...ext.Interfaces);
    d.Fields.push(...ext.Fields);
    d.Types.push(...ext.Types);
    d.EnumValues.push(...ext.EnumValues);
  }
  for (const d of list<Obj>(doc.Directives)) {
    const name = str(d.Name);
    if (s.directives.has(name) && !PRELUDE_DIRECTIVES.some((p) => p.Name === name))
      throw err(`Cannot redeclare directive ${name}.`);
    s.directives.set(name, d);
  }
  const schemas = list<Obj>(doc.Schema);
  if (schemas.length > 1)
    throw err('Cannot have multiple schema entry points, consider schema extensions instead.');
  for (const sd of [...schemas, ...list<Obj>(doc.SchemaExtension)]) {
    for (const op of list<Obj>(sd.OperationTypes)) {
      const t = s.types.get(str(op.Type));
      if (!t)
        throw err(`Schema root ${str(op.Operation)} refers to a type ${str(op.Type)} that does not exist.`);
      if (op.Operation === 'query') s.query = t;
      else if (op.Operation === 'mutation') s.mutation = t;
      else if (op.Operation === 'subscription') s.subscription = t;
    }
  }
  for (const d of s.directives.values()) checkArguments(s, `@${str(d.Name)}`, list<Obj>(d.Arguments));
  for (const d of defs) checkDefinition(s, d);
  if (!schemas.length) {
    s.query ??= s.types.get('Query');
    s.mutation ??= s.types.get('Mutation');
    s.subscription ??= s.types.get('Subscription');
  }
  return s;
}

const OUTPUT = new Set(['SCALAR', 'OBJECT', 'INTERFACE', 'UNION', 'ENUM']);
const INPUT = new Set(['SCALAR', 'ENUM', 'INPUT_OBJECT']);

function checkArguments(s: Schema, owner: string, args: Obj[]): void {
  for (const a of args) {
    const t = s.types.get(typeName(a.Type as TypeRef));
    if (!t) throw err(`Undefined type ${typeName(a.Type as TypeRef)}.`);
    if (!INPUT.has(t.Kind)) throw err(`${owner}: argument ${str(a.Name)} must be an input type.`);
  }
}

function checkDirectives(s: Schema, dirs: Obj[], location: string): void {
  for (const d of dirs) {
    const dd = s.directives.get(str(d.Name));
    if (!dd) throw err(`Undefined directive ${str(d.Name)}.`);
    if (!list<string>(dd.Locations).includes(location))
      throw err(`Directive ${str(d.Name)} is not applicable on ${location}.`);
  }
}

function checkDefinition(s: Schema, d: Def): void {
  if (d.BuiltIn) return;
  if (d.Name.startsWith('__'))
    throw err(`Name "${d.Name}" must not begin with "__", which is reserved by GraphQL introspection.`);
  const loc = d.Kind === 'INPUT_OBJECT' ? 'INPUT_OBJECT' : d.Kind;
  checkDirectives(s, d.Directives, loc);
  switch (d.Kind) {
    case 'OBJECT':
    case 'INTERFACE':
      if (!d.Fields.length) throw err(`${d.Kind} ${d.Name}: must define one or more fields.`);
      for (const f of d.Fields) {
        const t = s.types.get(typeName(f.Type as TypeRef));
        if (!t) throw err(`Undefined type ${typeName(f.Type as TypeRef)}.`);
        if (!OUTPUT.has(t.Kind))
          throw err(`${d.Kind} ${d.Name}: field must be one of SCALAR, OBJECT, INTERFACE, UNION, ENUM.`);
        checkArguments(s, `${d.Name}.${str(f.Name)}`, list<Obj>(f.Arguments));
        checkDirectives(s, list<Obj>(f.Directives), 'FIELD_DEFINITION');
      }
      for (const i of d.Interfaces) checkImplements(s, d, i);
      break;
    case 'ENUM':
      if (!d.EnumValues.length) throw err(`${d.Kind} ${d.Name}: must define one or more unique enum values.`);
      for (const v of d.EnumValues) {
        if (['true', 'false', 'null'].includes(str(v.Name)))
          throw err(`${d.Kind} ${d.Name}: non-enum value ${str(v.Name)}.`);
        checkDirectives(s, list<Obj>(v.Directives), 'ENUM_VALUE');
      }
      break;
    case 'INPUT_OBJECT':
      if (!d.Fields.length) throw err(`${d.Kind} ${d.Name}: must define one or more input fields.`);
      for (const f of d.Fields) {
        const t = s.types.get(typeName(f.Type as TypeRef));
        if (!t) throw err(`Undefined type ${typeName(f.Type as TypeRef)}.`);
        if (!INPUT.has(t.Kind))
          throw err(`${d.Kind} ${d.Name}: field must be one of SCALAR, ENUM, INPUT_OBJECT.`);
        checkDirectives(s, list<Obj>(f.Directives), 'INPUT_FIELD_DEFINITION');
      }
      break;
    case 'UNION':
      if (!d.Types.length) throw err(`${d.Kind} ${d.Name}: must define one or more member types.`);
      for (const m of d.Types) {
        const t = s.types.get(m);
        if (!t) throw err(`Undefined type ${m}.`);
        if (t.Kind !== 'OBJECT') throw err(`UNION type "${m}" must be OBJECT.`);
      }
      break;
  }
  const seen = new Set<string>();
  for (const f of d.Fields) {
    if (seen.has(str(f.Name))) throw err(`Field ${d.Name}.${str(f.Name)} can only be defined once.`);
    seen.add(str(f.Name));
  }
}

function checkImplements(s: Schema, d: Def, name: string): void {
  const i = s.types.get(name);
  if (!i) throw err(`Undefined type ${name}.`);
  if (i.Kind !== 'INTERFACE')
    throw err(`${d.Kind} ${d.Name} must only implement Interface types, it cannot implement ${name}.`);
  for (const f of i.Fields) {
    if (!d.Fields.some((x) => x.Name === f.Name))
      throw err(`For ${d.Name} to implement ${name} it must have a field called ${str(f.Name)}.`);
  }
  // interfaces the interface implements must be implemented too
  for (const up of i.Interfaces)
    if (!d.Interfaces.includes(up))
      throw err(`${d.Kind} ${d.Name} must implement ${up} because it is implemented by ${name}.`);
}

/** The first schema error, or undefined when the schema is valid. */
export function validateSchema(doc: Obj): GraphQLError | undefined {
  try {
    loadSchema(doc);
    return undefined;
  } catch (e) {
    if (e instanceof GraphQLError) return e;
    throw e;
  }
}

// ---------------------------------------------------------------- queries

interface Ctx {
  s: Schema;
  fragments: Map<string, Obj>;
  vars: Map<string, Obj>;
  used: Set<string>;
  visiting: Set<string>;
}

function checkValueVars(c: Ctx, v: Obj | undefined): void {
  if (!v) return;
  if (v.Kind === 0) {
    const name = str(v.Raw);
    if (!c.vars.has(name)) throw err(`Variable "$${name}" is not defined.`);
    c.used.add(name);
  }
  for (const ch of list<Obj>(v.Children)) checkValueVars(c, ch.Value as Obj);
}

function checkQueryDirectives(c: Ctx, dirs: Obj[], location: string): void {
  for (const d of dirs) {
    const dd = c.s.directives.get(str(d.Name));
    if (!dd) throw err(`Unknown directive "@${str(d.Name)}".`);
    if (!list<string>(dd.Locations).includes(location))
      throw err(`Directive "@${str(d.Name)}" may not be used on ${location}.`);
    checkArgs(c, list<Obj>(d.Arguments), list<Obj>(dd.Arguments), `Directive "@${str(d.Name)}"`);
  }
}

function checkArgs(c: Ctx, given: Obj[], defs: Obj[], owner: string, at?: unknown): void {
  for (const a of given) {
    if (!defs.some((d) => d.Name === a.Name)) throw err(`Unknown argument "${str(a.Name)}" on ${owner}.`);
    checkValueVars(c, a.Value as Obj);
  }
  for (const d of defs) {
    const t = d.Type as TypeRef;
    if (t?.NonNull && d.DefaultValue === undefined && !given.some((a) => a.Name === d.Name))
      throw err(
        `${owner} argument "${str(d.Name)}" of type "${typeString(t)}" is required, but it was not provided`,
        at,
      );
  }
}

function possibleType(c: Ctx, name: string): Def {
  const t = c.s.types.get(name);
  if (!t) throw err(`Unknown type "${name}".`);
  return t;
}

function checkSelections(c: Ctx, parent: Def, sels: Obj[]): void {
  for (const sel of sels) {
    // fields have an Alias, inline fragments a TypeCondition (maybe ""), spreads neither
    if ('Alias' in sel) {
      checkField(c, parent, sel);
    } else if ('TypeCondition' in sel) {
      const cond = str(sel.TypeCondition);
      const t = cond ? possibleType(c, cond) : parent;
      checkQueryDirectives(c, list<Obj>(sel.Directives), 'INLINE_FRAGMENT');
      checkSelections(c, t, list<Obj>(sel.SelectionSet));
    } else {
      const name = str(sel.Name);
      const frag = c.fragments.get(name);
      if (!frag) throw err(`Unknown fragment "${name}".`);
      checkQueryDirectives(c, list<Obj>(sel.Directives), 'FRAGMENT_SPREAD');
      if (c.visiting.has(name)) throw err(`Cannot spread fragment "${name}" within itself.`);
      c.visiting.add(name);
      checkSelections(c, possibleType(c, str(frag.TypeCondition)), list<Obj>(frag.SelectionSet));
      c.visiting.delete(name);
    }
  }
}

function checkField(c: Ctx, parent: Def, f: Obj): void {
  const name = str(f.Name);
  checkQueryDirectives(c, list<Obj>(f.Directives), 'FIELD');
  if (name === '__typename') {
    if (list(f.SelectionSet).length)
      throw err(`Field "__typename" must not have a selection since type "String!" has no subfields.`);
    return;
  }
  const fd = parent.Kind === 'UNION' ? undefined : parent.Fields.find((x) => x.Name === name);
  if (!fd && !(name === '__schema' || name === '__type'))
    throw err(`Cannot query field "${name}" on type "${parent.Name}".`);
  if (!fd) return;
  checkArgs(c, list<Obj>(f.Arguments), list<Obj>(fd.Arguments), `Field "${name}"`, f.Position);
  const t = c.s.types.get(typeName(fd.Type as TypeRef));
  const sels = list<Obj>(f.SelectionSet);
  if (!t) return;
  const leaf = t.Kind === 'SCALAR' || t.Kind === 'ENUM';
  if (leaf && sels.length)
    throw err(
      `Field "${name}" must not have a selection since type "${typeString(fd.Type as TypeRef)}" has no subfields.`,
    );
  if (!leaf && !sels.length)
    throw err(
      `Field "${name}" of type "${typeString(fd.Type as TypeRef)}" must have a selection of subfields.`,
    );
  checkSelections(c, t, sels);
}

/** The first error of a query against a schema, or undefined when it is valid. */
export function validateQuery(query: Obj, schemaDoc: Obj): GraphQLError | undefined {
  try {
    const s = loadSchema(schemaDoc);
    const fragments = new Map<string, Obj>();
    for (const f of list<Obj>(query.Fragments)) {
      if (fragments.has(str(f.Name))) throw err(`There can be only one fragment named "${str(f.Name)}".`);
      fragments.set(str(f.Name), f);
    }
    const ops = list<Obj>(query.Operations);
    const names = new Set<string>();
    for (const op of ops) {
      const name = str(op.Name);
      if (!name && ops.length > 1) throw err('This anonymous operation must be the only defined operation.');
      if (name && names.has(name)) throw err(`There can be only one operation named "${name}".`);
      names.add(name);
      const root =
        op.Operation === 'mutation' ? s.mutation : op.Operation === 'subscription' ? s.subscription : s.query;
      if (!root) throw err(`Schema does not support operation type "${str(op.Operation) || 'query'}"`);
      const vars = new Map<string, Obj>();
      for (const v of list<Obj>(op.VariableDefinitions)) {
        const vn = str(v.Variable);
        if (vars.has(vn)) throw err(`There can be only one variable named "$${vn}".`);
        const t = s.types.get(typeName(v.Type as TypeRef));
        if (!t) throw err(`Unknown type "${typeName(v.Type as TypeRef)}".`);
        if (!INPUT.has(t.Kind))
          throw err(`Variable "$${vn}" cannot be non-input type "${typeString(v.Type as TypeRef)}".`);
        vars.set(vn, v);
      }
      const c: Ctx = { s, fragments, vars, used: new Set(), visiting: new Set() };
      checkQueryDirectives(c, list<Obj>(op.Directives), str(op.Operation).toUpperCase() || 'QUERY');
      checkSelections(c, root, list<Obj>(op.SelectionSet));
      for (const vn of vars.keys()) {
        if (!c.used.has(vn))
          throw err(`Variable "$${vn}" is never used${op.Name ? ` in operation "${str(op.Name)}"` : ''}.`);
      }
    }
    return undefined;
  } catch (e) {
    if (e instanceof GraphQLError) return e;
    throw e;
  }
}
