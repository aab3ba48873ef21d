/**
 * A GraphQL lexer and parser shaped after gqlparser (vektah/gqlparser/v2), the library OPA's
 * graphql.* builtins use: the same grammar decisions, error wording and positions, and documents
 * as plain objects with gqlparser's Go field names (OPA returns their JSON, pruned of positions,
 * nulls and empty lists/objects).
 *
 * Longer than 500 lines on purpose: the lexer and the parser of one grammar, kept together and in
 * gqlparser's order so the two can be compared side by side. Validation is in graphql-validate.ts.
 */

type Kind =
  | 'Invalid'
  | 'EOF'
  | '!'
  | '$'
  | '&'
  | '('
  | ')'
  | '...'
  | ':'
  | '='
  | '@'
  | '['
  | ']'
  | '{'
  | '|'
  | '}'
  | 'Name'
  | 'Int'
  | 'Float'
  | 'String'
  | 'BlockString';

interface Token {
  kind: Kind;
  value: string;
  line: number;
  col: number;
}

const tokenString = (t: Token): string =>
  t.kind === 'EOF'
    ? '<EOF>'
    : t.kind === 'Invalid'
      ? '<Invalid>'
      : t.value !== ''
        ? `${t.kind} ${JSON.stringify(t.value)}`
        : t.kind;
const kindString = (k: Kind): string => (k === 'EOF' ? '<EOF>' : k === 'Invalid' ? '<Invalid>' : k);

export class GraphQLError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
  }
}

function lex(src: string): Token[] {
  const cps = [...src];
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const tok = (kind: Kind, value: string, start: number): void => {
    out.push({ kind, value, line, col: start - lineStart + 1 });
  };
  const newline = (at: number): void => {
    line++;
    lineStart = at;
  };
  for (;;) {
    // whitespace, commas, BOM, comments
    while (i < cps.length) {
      const c = cps[i];
      if (c === ' ' || c === '\t' || c === ',' || c === '\ufeff') i++;
      else if (c === '\n') newline(++i);
      else if (c === '\r') {
        i++;
        if (cps[i] === '\n') i++;
        newline(i);
      } else if (c === '#') {
        while (i < cps.length && cps[i] !== '\n' && cps[i] !== '\r') i++;
      } else break;
    }
    if (i >= cps.length) {
      tok('EOF', '', i);
      return out;
    }
    const start = i;
    const c = cps[i];
    if ('!$&():=@[]{}|'.includes(c)) {
      i++;
      tok(c as Kind, '', start);
      continue;
    }
    if (c === '.') {
      if (cps[i + 1] === '.' && cps[i + 2] === '.') {
        i += 3;
        tok('...', '', start);
        continue;
      }
      tok('Invalid', '', start);
      return out;
    }
    if (/[_A-Za-z]/.test(c)) {
      let j = i + 1;
      while (j < cps.length && /[_0-9A-Za-z]/.test(cps[j])) j++;
      tok('Name', cps.slice(i, j).join(''), start);
      i = j;
      continue;
    }
    if (c === '-' || /[0-9]/.test(c)) {
      let j = i;
      let float = false;
      if (cps[j] === '-') j++;
      const digits = (): boolean => {
        const s = j;
        while (j < cps.length && /[0-9]/.test(cps[j])) j++;
        return j > s;
      };
      if (cps[j] === '0') {
        j++;
        if (/[0-9]/.test(cps[j] ?? '')) {
          tok('Invalid', '', j);
          return out;
        }
      } else if (!digits()) {
        tok('Invalid', '', j);
        return out;
      }
      if (cps[j] === '.') {
        float = true;
        j++;
        if (!digits()) {
          tok('Invalid', '', j);
          return out;
        }
      }
      if (cps[j] === 'e' || cps[j] === 'E') {
        float = true;
        j++;
        if (cps[j] === '+' || cps[j] === '-') j++;
        if (!digits()) {
          tok('Invalid', '', j);
          return out;
        }
      }
      tok(float ? 'Float' : 'Int', cps.slice(i, j).join(''), start);
      i = j;
      continue;
    }
    if (c === '"') {
      if (cps[i + 1] === '"' && cps[i + 2] === '"') {
        // block string: the position is after the opening quotes
        let j = i + 3;
        let raw = '';
        const bLine = line;
        const bCol = start + 3 - lineStart + 1;
        for (;;) {
          if (j >= cps.length) {
            tok('Invalid', '', j);
            return out;
          }
          if (cps[j] === '"' && cps[j + 1] === '"' && cps[j + 2] === '"') {
            j += 3;
            break;
          }
          if (cps[j] === '\\' && cps[j + 1] === '"' && cps[j + 2] === '"' && cps[j + 3] === '"') {
            raw += '"""';
            j += 4;
            continue;
          }
          if (cps[j] === '\n') newline(j + 1);
          else if (cps[j] === '\r') {
            if (cps[j + 1] === '\n') {
              raw += '\r';
              j++;
            }
            newline(j + 1);
          }
          raw += cps[j++];
        }
        out.push({ kind: 'BlockString', value: blockStringValue(raw), line: bLine, col: bCol });
        i = j;
        continue;
      }
      let j = i + 1;
      let value = '';
      for (;;) {
        const ch = cps[j];
        if (ch === undefined || ch === '\n' || ch === '\r') {
          tok('Invalid', '', j);
          return out;
        }
        if (ch === '"') {
          j++;
          break;
        }
        if (ch === '\\') {
          const e = cps[j + 1];
          const map: Record<string, string> = {
            '"': '"',
            '\\': '\\',
            '/': '/',
            b: '\b',
            f: '\f',
            n: '\n',
            r: '\r',
            t: '\t',
          };
          if (e !== undefined && map[e] !== undefined) {
            value += map[e];
            j += 2;
            continue;
          }
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(cps.slice(j + 2, j + 6).join(''))) {
            value += String.fromCharCode(parseInt(cps.slice(j + 2, j + 6).join(''), 16));
            j += 6;
            continue;
          }
          tok('Invalid', '', j);
          return out;
        }
        value += ch;
        j++;
      }
      out.push({ kind: 'String', value, line, col: start + 1 - lineStart + 1 });
      i = j;
      continue;
    }
    tok('Invalid', '', start);
    return out;
  }
}

/** The spec's BlockStringValue: common indentation and blank leading/trailing lines removed. */
function blockStringValue(raw: string): string {
  const lines = raw.split(/\r\n|\n|\r/);
  let common: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    const indent = l.length - l.replace(/^[ \t]*/, '').length;
    if (indent < l.length && (common === undefined || indent < common)) common = indent;
  }
  if (common) for (let i = 1; i < lines.length; i++) lines[i] = lines[i].slice(common);
  while (lines.length && lines[0].trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.join('\n');
}

type Obj = Record<string, unknown>;

class Parser {
  private pos = 0;
  private prev: Token | undefined;
  err: GraphQLError | undefined;

  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.pos];
  }
  private next(): Token {
    const t = this.toks[this.pos];
    if (this.pos < this.toks.length - 1) this.pos++;
    this.prev = t;
    return t;
  }
  private error(t: Token, msg: string): void {
    this.err ??= new GraphQLError(msg, t.line, t.col);
  }
  private skip(k: Kind): boolean {
    if (this.err || this.peek().kind !== k) return false;
    this.next();
    return true;
  }
  private unexpectedError(): void {
    this.unexpectedToken(this.peek());
  }
  private unexpectedToken(t: Token): void {
    this.error(t, `Unexpected ${tokenString(t)}`);
  }
  private expectKeyword(value: string): Token {
    const t = this.peek();
    if (t.kind === 'Name' && t.value === value) return this.next();
    this.error(t, `Expected ${JSON.stringify(value)}, found ${tokenString(t)}`);
    return t;
  }
  private expect(kind: Kind): Token {
    const t = this.peek();
    if (t.kind === kind) return this.next();
    this.error(t, `Expected ${kindString(kind)}, found ${kindString(t.kind)}`);
    return t;
  }
  private some(start: Kind, end: Kind, cb: () => void): void {
    if (!this.skip(start)) return;
    let called = false;
    while (this.peek().kind !== end && !this.err) {
      called = true;
      cb();
    }
    if (!called) {
      this.error(this.peek(), `expected at least one definition, found ${kindString(this.peek().kind)}`);
      return;
    }
    this.next();
  }
  private many(start: Kind, end: Kind, cb: () => void): void {
    if (!this.skip(start)) return;
    while (this.peek().kind !== end && !this.err) cb();
    this.next();
  }
  private name(): string {
    return this.expect('Name').value;
  }

  // ---------------------------------------------------------------- executable documents

  queryDocument(): Obj {
    const ops: Obj[] = [];
    const frags: Obj[] = [];
    while (this.peek().kind !== 'EOF') {
      if (this.err) break;
      const t = this.peek();
      if (t.kind === 'Name') {
        if (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription')
          ops.push(this.operation());
        else if (t.value === 'fragment') frags.push(this.fragmentDefinition());
        else this.unexpectedError();
      } else if (t.kind === '{') ops.push(this.operation());
      else this.unexpectedError();
    }
    return { Operations: ops, Fragments: frags };
  }

  private operation(): Obj {
    if (this.peek().kind === '{')
      return { Operation: 'query', Name: '', SelectionSet: this.requiredSelectionSet() };
    const op = this.operationType();
    const name = this.peek().kind === 'Name' ? this.next().value : '';
    return {
      Operation: op,
      Name: name,
      VariableDefinitions: this.variableDefinitions(),
      Directives: this.directives(false),
      SelectionSet: this.requiredSelectionSet(),
    };
  }

  private operationType(): string {
    const t = this.next();
    if (t.value === 'query' || t.value === 'mutation' || t.value === 'subscription') return t.value;
    this.unexpectedToken(t);
    return '';
  }

  private variableDefinitions(): Obj[] {
    const defs: Obj[] = [];
    this.many('(', ')', () => {
      const d: Obj = { Variable: this.variable() };
      this.expect(':');
      d.Type = this.typeReference();
      if (this.skip('=')) d.DefaultValue = this.value(true);
      d.Directives = this.directives(false);
      d.Used = false;
      defs.push(d);
    });
    return defs;
  }

  private variable(): string {
    this.expect('$');
    return this.name();
  }

  private requiredSelectionSet(): Obj[] {
    if (this.peek().kind !== '{') {
      this.error(this.peek(), `Expected {, found ${kindString(this.peek().kind)}`);
      return [];
    }
    const out: Obj[] = [];
    this.some('{', '}', () => out.push(this.selection()));
    return out;
  }

  private selection(): Obj {
    return this.peek().kind === '...' ? this.fragment() : this.field();
  }

  private field(): Obj {
    const at = this.peek();
    const alias = this.name();
    const name = this.skip(':') ? this.name() : alias;
    const f: Obj = {
      Alias: alias,
      Name: name,
      Arguments: this.arguments(false),
      Directives: this.directives(false),
      // dropped from OPA's output like every Position; used for validation messages
      Position: { line: at.line, col: at.col },
    };
    if (this.peek().kind === '{') {
      const sel: Obj[] = [];
      this.some('{', '}', () => sel.push(this.selection()));
      f.SelectionSet = sel;
    }
    return f;
  }

  private arguments(isConst: boolean): Obj[] {
    const out: Obj[] = [];
    this.many('(', ')', () => {
      const name = this.name();
      this.expect(':');
      out.push({ Name: name, Value: this.value(isConst) });
    });
    return out;
  }

  private fragment(): Obj {
    this.expect('...');
    const t = this.peek();
    if (t.kind === 'Name' && t.value !== 'on')
      return { Name: this.fragmentName(), Directives: this.directives(false) };
    let cond = '';
    if (this.peek().value === 'on') {
      this.next();
      cond = this.name();
    }
    return {
      TypeCondition: cond,
      Directives: this.directives(false),
      SelectionSet: this.requiredSelectionSet(),
    };
  }

  private fragmentDefinition(): Obj {
    this.expectKeyword('fragment');
    const name = this.fragmentName();
    const vars = this.variableDefinitions();
    this.expectKeyword('on');
    return {
      Name: name,
      VariableDefinition: vars,
      TypeCondition: this.name(),
      Directives: this.directives(false),
      SelectionSet: this.requiredSelectionSet(),
    };
  }

  private fragmentName(): string {
    if (this.peek().value === 'on') {
      this.unexpectedError();
      return '';
    }
    return this.name();
  }

  private value(isConst: boolean): Obj | undefined {
    const t = this.peek();
    let kind: number;
    switch (t.kind) {
      case '[': {
        const children: Obj[] = [];
        this.many('[', ']', () => children.push({ Name: '', Value: this.value(isConst) }));
        return { Raw: '', Children: children, Kind: 8 };
      }
      case '{': {
        const children: Obj[] = [];
        this.many('{', '}', () => {
          const name = this.name();
          this.expect(':');
          children.push({ Name: name, Value: this.value(isConst) });
        });
        return { Raw: '', Children: children, Kind: 9 };
      }
      case '$':
        if (isConst) {
          this.unexpectedError();
          return undefined;
        }
        return { Raw: this.variable(), Kind: 0 };
      case 'Int':
        kind = 1;
        break;
      case 'Float':
        kind = 2;
        break;
      case 'String':
        kind = 3;
        break;
      case 'BlockString':
        kind = 4;
        break;
      case 'Name':
        kind = t.value === 'true' || t.value === 'false' ? 5 : t.value === 'null' ? 6 : 7;
        break;
      default:
        this.unexpectedError();
        return undefined;
    }
    this.next();
    return { Raw: t.value, Kind: kind };
  }

  private directives(isConst: boolean): Obj[] {
    const out: Obj[] = [];
    while (this.peek().kind === '@' && !this.err) {
      this.expect('@');
      out.push({ Name: this.name(), Arguments: this.arguments(isConst), Location: '' });
    }
    return out;
  }

  private typeReference(): Obj {
    const t: Obj = {};
    if (this.skip('[')) {
      t.Elem = this.typeReference();
      this.expect(']');
      t.NamedType = '';
    } else t.NamedType = this.name();
    t.NonNull = this.skip('!');
    return t;
  }

  // ---------------------------------------------------------------- schema documents

  schemaDocument(): Obj {
    const doc = {
      Schema: [] as Obj[],
      SchemaExtension: [] as Obj[],
      Directives: [] as Obj[],
      Definitions: [] as Obj[],
      Extensions: [] as Obj[],
    };
    while (this.peek().kind !== 'EOF') {
      if (this.err) break;
      let description = '';
      const k = this.peek().kind;
      if (k === 'BlockString' || k === 'String') description = this.next().value;
      if (this.peek().kind !== 'Name') {
        this.unexpectedError();
        break;
      }
      switch (this.peek().value) {
        case 'scalar':
        case 'type':
        case 'interface':
        case 'union':
        case 'enum':
        case 'input':
          doc.Definitions.push(this.typeDefinition(description));
          break;
        case 'schema':
          doc.Schema.push(this.schemaDefinition(description));
          break;
        case 'directive':
          doc.Directives.push(this.directiveDefinition(description));
          break;
        case 'extend':
          if (description !== '') this.unexpectedToken(this.prev!);
          this.extension(doc);
          break;
        default:
          this.unexpectedError();
      }
    }
    return doc;
  }

  private description(): string {
    const k = this.peek().kind;
    return k === 'BlockString' || k === 'String' ? this.next().value : '';
  }

  private typeDefinition(description: string, extend = false): Obj {
    const keyword = this.next().value;
    const def: Obj = { Kind: '', Description: description, Name: this.name(), BuiltIn: false };
    switch (keyword) {
      case 'scalar':
        def.Kind = 'SCALAR';
        def.Directives = this.directives(true);
        if (extend && !(def.Directives as Obj[]).length) this.unexpectedError();
        break;
      case 'type':
      case 'interface':
        def.Kind = keyword === 'type' ? 'OBJECT' : 'INTERFACE';
        def.Interfaces = this.implementsInterfaces();
        def.Directives = this.directives(true);
        def.Fields = this.fields(() => this.fieldDefinition());
        if (
          extend &&
          !(def.Interfaces as string[]).length &&
          !(def.Directives as Obj[]).length &&
          !(def.Fields as Obj[]).length
        )
          this.unexpectedError();
        break;
      case 'union':
        def.Kind = 'UNION';
        def.Directives = this.directives(true);
        def.Types = this.unionMembers();
        if (extend && !(def.Directives as Obj[]).length && !(def.Types as string[]).length)
          this.unexpectedError();
        break;
      case 'enum':
        def.Kind = 'ENUM';
        def.Directives = this.directives(true);
        def.EnumValues = this.fields(() => ({
          Description: this.description(),
          Name: this.name(),
          Directives: this.directives(true),
        }));
        if (extend && !(def.Directives as Obj[]).length && !(def.EnumValues as Obj[]).length)
          this.unexpectedError();
        break;
      case 'input':
        def.Kind = 'INPUT_OBJECT';
        def.Directives = this.directives(true);
        def.Fields = this.fields(() => this.inputValueDefinition());
        if (extend && !(def.Directives as Obj[]).length && !(def.Fields as Obj[]).length)
          this.unexpectedError();
        break;
    }
    return def;
  }

  private fields(one: () => Obj): Obj[] {
    const out: Obj[] = [];
    this.some('{', '}', () => out.push(one()));
    return out;
  }

  private implementsInterfaces(): string[] {
    const out: string[] = [];
    if (this.peek().value === 'implements') {
      this.next();
      this.skip('&');
      out.push(this.name());
      while (this.skip('&') && !this.err) out.push(this.name());
    }
    return out;
  }

  private unionMembers(): string[] {
    const out: string[] = [];
    if (this.skip('=')) {
      this.skip('|');
      out.push(this.name());
      while (this.skip('|') && !this.err) out.push(this.name());
    }
    return out;
  }

  private fieldDefinition(): Obj {
    const d: Obj = { Description: this.description(), Name: this.name() };
    const args: Obj[] = [];
    this.some('(', ')', () => args.push(this.inputValueDefinition()));
    d.Arguments = args;
    this.expect(':');
    d.Type = this.typeReference();
    d.Directives = this.directives(true);
    return d;
  }

  private inputValueDefinition(): Obj {
    const d: Obj = { Description: this.description(), Name: this.name() };
    this.expect(':');
    d.Type = this.typeReference();
    if (this.skip('=')) d.DefaultValue = this.value(true);
    d.Directives = this.directives(true);
    return d;
  }

  private schemaDefinition(description: string, extend = false): Obj {
    this.expectKeyword('schema');
    const d: Obj = { Description: description, Directives: this.directives(true) };
    const ops: Obj[] = [];
    this.some('{', '}', () => {
      const op = this.operationType();
      this.expect(':');
      ops.push({ Operation: op, Type: this.name() });
    });
    d.OperationTypes = ops;
    if (extend && !(d.Directives as Obj[]).length && !ops.length) this.unexpectedError();
    return d;
  }

  private extension(doc: { SchemaExtension: Obj[]; Extensions: Obj[] }): void {
    this.expectKeyword('extend');
    const v = this.peek().value;
    if (v === 'schema') doc.SchemaExtension.push(this.schemaDefinition('', true));
    else if (['scalar', 'type', 'interface', 'union', 'enum', 'input'].includes(v))
      doc.Extensions.push(this.typeDefinition('', true));
    else this.unexpectedError();
  }

  private directiveDefinition(description: string): Obj {
    this.expectKeyword('directive');
    this.expect('@');
    const d: Obj = { Description: description, Name: this.name() };
    const args: Obj[] = [];
    this.some('(', ')', () => args.push(this.inputValueDefinition()));
    d.Arguments = args;
    d.IsRepeatable = false;
    const p = this.peek();
    if (p.kind === 'Name' && p.value === 'repeatable') {
      d.IsRepeatable = true;
      this.next();
    }
    this.expectKeyword('on');
    this.skip('|');
    const locs = [this.directiveLocation()];
    while (this.skip('|') && !this.err) locs.push(this.directiveLocation());
    d.Locations = locs;
    return d;
  }

  private directiveLocation(): string {
    const t = this.expect('Name');
    if (DIRECTIVE_LOCATIONS.has(t.value)) return t.value;
    this.unexpectedToken(t);
    return '';
  }
}

export const DIRECTIVE_LOCATIONS = new Set([
  'QUERY',
  'MUTATION',
  'SUBSCRIPTION',
  'FIELD',
  'FRAGMENT_DEFINITION',
  'FRAGMENT_SPREAD',
  'INLINE_FRAGMENT',
  'VARIABLE_DEFINITION',
  'SCHEMA',
  'SCALAR',
  'OBJECT',
  'FIELD_DEFINITION',
  'ARGUMENT_DEFINITION',
  'INTERFACE',
  'UNION',
  'ENUM',
  'ENUM_VALUE',
  'INPUT_OBJECT',
  'INPUT_FIELD_DEFINITION',
]);

export function parseQuery(src: string): Obj {
  const p = new Parser(lex(src));
  const doc = p.queryDocument();
  if (p.err) throw p.err;
  return doc;
}

export function parseSchema(src: string): Obj {
  const p = new Parser(lex(src));
  const doc = p.schemaDocument();
  if (p.err) throw p.err;
  return doc;
}

/** An empty object or array (pruned like a missing value). */
function isEmpty(p: unknown): boolean {
  return (
    typeof p === 'object' && p !== null && (Array.isArray(p) ? p.length === 0 : Object.keys(p).length === 0)
  );
}

/** OPA's pruning of the AST's JSON: no positions, nulls, or empty lists and objects. */
export function prune(x: unknown): unknown {
  if (Array.isArray(x)) {
    const out: unknown[] = [];
    for (const v of x) {
      if (v === null || v === undefined) continue;
      const p = prune(v);
      if (isEmpty(p)) continue;
      out.push(p);
    }
    return out;
  }
  if (typeof x === 'object' && x !== null) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'Position' || v === null || v === undefined) continue;
      const p = prune(v);
      if (isEmpty(p)) continue;
      out[k] = p;
    }
    return out;
  }
  return x;
}
