/**
 * Rego parser: tokens → modules, queries and terms. Rego v1 syntax by default; `regoVersion: 0`
 * reads v0 modules (bodies without `if`, `p[x] { }` partial sets). Keywords (`if`, `in`, `every`,
 * `contains`) are always recognised where they are unambiguous, which is what `import rego.v1` or
 * `future.keywords` would give a v0 module.
 *
 * Longer than 500 lines on purpose: one recursive-descent parser whose methods follow Rego's
 * grammar and call one another (module, rule, body, expression, term), as OPA keeps its parser in
 * one ast/parser.go. The lexer (lexer.ts) and the AST (ast.ts) are apart.
 */
import type {
  Body,
  Call,
  Expr,
  ExprBody,
  Import,
  Location,
  Module,
  Ref,
  Rule,
  RuleHead,
  Term,
  Var,
  With,
} from './ast.js';
import { RegoError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { bignum } from './value.js';

export interface ParseOptions {
  /** 1 (default) for Rego v1 syntax, 0 for v0. */
  regoVersion?: 0 | 1;
}

const INFIX: Record<string, string> = {
  '==': 'equal',
  '!=': 'neq',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
  '+': 'plus',
  '-': 'minus',
  '*': 'mul',
  '/': 'div',
  '%': 'rem',
  '&': 'and',
  '|': 'or',
};
const LEVELS: string[][] = [['==', '!=', '<=', '>=', '<', '>'], ['|'], ['&'], ['+', '-'], ['*', '/', '%']];

export class Parser {
  private toks: Token[];
  private pos = 0;
  /** Nesting depth inside (), [] and {} terms; newlines only end a literal at depth 0. */
  private depth = 0;
  private readonly text: string;
  private readonly file: string;
  readonly regoVersion: 0 | 1;

  constructor(text: string, file: string, opts: ParseOptions = {}) {
    this.text = text;
    this.file = file;
    this.regoVersion = opts.regoVersion ?? 1;
    this.toks = tokenize(text, file);
  }

  private get tok(): Token {
    return this.toks[this.pos];
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.pos + n, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.toks[this.pos];
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private atEof(): boolean {
    return this.tok.kind === 'eof';
  }
  private isOp(s: string, t = this.tok): boolean {
    return t.kind === 'op' && t.text === s;
  }
  private isIdent(s: string, t = this.tok): boolean {
    return t.kind === 'ident' && t.text === s;
  }
  private fail(msg: string, t = this.tok): never {
    throw new RegoError('rego_parse_error', msg, t.loc, this.text);
  }
  private expectOp(s: string): Token {
    if (!this.isOp(s))
      this.fail(
        this.tok.kind === 'eof'
          ? `unexpected eof token: expected ${s}`
          : `unexpected ${this.describe()} token: expected ${s}`,
      );
    return this.next();
  }
  private describe(t = this.tok): string {
    if (t.kind === 'eof') return 'eof';
    if (t.kind === 'ident')
      return [
        'if',
        'else',
        'contains',
        'in',
        'some',
        'every',
        'not',
        'with',
        'as',
        'default',
        'import',
        'package',
      ].includes(t.text)
        ? `${t.text} keyword`
        : 'ident';
    if (t.kind === 'op') return t.text;
    return t.kind;
  }
  private span(a: Location, b: Location): Location {
    return { file: this.file, row: a.row, col: a.col, start: a.start, end: b.end };
  }
  private prevLoc(): Location {
    return this.toks[Math.max(0, this.pos - 1)].loc;
  }

  // ---------------------------------------------------------------- modules

  parseModule(): Module {
    const source = { file: this.file, text: this.text };
    if (!this.isIdent('package')) this.fail(this.tok.kind === 'eof' ? 'empty module' : 'package expected');
    const pkgTok = this.next();
    const pref = this.parseRefOnly();
    const path: string[] = [];
    for (let i = 0; i < pref.terms.length; i++) {
      const t = pref.terms[i];
      if (i === 0 && t.type === 'var') path.push(t.name);
      else if (t.type === 'scalar' && typeof t.value === 'string') path.push(t.value);
      else this.fail('package path must be a ref of strings', this.toks[this.pos - 1]);
    }
    if (path[0] === 'data') path.shift();
    const module: Module = {
      source,
      package: { path, loc: this.span(pkgTok.loc, pref.loc) },
      imports: [],
      rules: [],
      regoVersion: this.regoVersion,
    };
    while (this.isIdent('import')) module.imports.push(this.parseImport());
    if (
      module.imports.some(
        (i) => i.path.terms.length === 2 && i.path.terms[0].type === 'var' && i.path.terms[0].name === 'rego',
      )
    ) {
      // `import rego.v1` in a v0 module switches on v1 syntax.
      (this as { regoVersion: 0 | 1 }).regoVersion = 1;
      module.regoVersion = 1;
    }
    while (this.tok.kind !== 'eof') {
      if (this.isIdent('import')) this.fail('imports must come before rules');
      if (this.isIdent('package')) this.fail('unexpected package keyword: only one package per module');
      module.rules.push(...this.parseRules(module));
    }
    return module;
  }

  private parseImport(): Import {
    const start = this.next().loc;
    const path = this.parseRefOnly();
    const head = path.terms[0];
    if (head.type !== 'var' || !['data', 'input', 'future', 'rego'].includes(head.name)) {
      throw new RegoError(
        'rego_parse_error',
        'unexpected import path, must begin with one of: {data, future, input, rego}, got: ' +
          this.text.slice(path.loc.start, path.loc.end),
        path.loc,
        this.text,
      );
    }
    let alias: string | undefined;
    if (this.isIdent('as')) {
      this.next();
      if (this.tok.kind !== 'ident') this.fail('expected var after as');
      alias = this.next().text;
    }
    return { path, alias, loc: this.span(start, this.prevLoc()) };
  }

  /** Whether the last key parsed by parseRefOnly was written in brackets. */
  private lastBracketed = false;

  /** A dotted/bracketed ref with no calls, for package and import paths and `with` targets. */
  private parseRefOnly(): Ref {
    this.lastBracketed = false;
    if (this.tok.kind !== 'ident') this.fail(`unexpected ${this.describe()} token: expected ref`);
    const first = this.next();
    const terms: Term[] = [{ type: 'var', name: first.text, slot: -1, loc: first.loc }];
    for (;;) {
      if (this.isOp('.') && !this.tok.ws && !this.peek().ws) {
        this.next();
        if (this.tok.kind !== 'ident') this.fail(`unexpected ${this.describe()} token: expected ident`);
        const id = this.next();
        terms.push({ type: 'scalar', value: id.text, loc: id.loc });
        this.lastBracketed = false;
      } else if (this.isOp('[') && !this.tok.ws) {
        this.next();
        this.depth++;
        this.lastBracketed = true;
        terms.push(this.parseTerm());
        this.depth--;
        this.expectOp(']');
      } else break;
    }
    return { type: 'ref', terms, loc: this.span(first.loc, this.prevLoc()) };
  }

  private parseRules(module: Module): Rule[] {
    const startTok = this.tok;
    const isDefault = this.isIdent('default');
    if (isDefault) this.next();
    if (this.tok.kind !== 'ident') this.fail(`unexpected ${this.describe()} token: expected rule head`);
    const headRef = this.parseRefOnly();
    const bracketed = this.lastBracketed;
    const head: RuleHead = { ref: headRef.terms, assign: false, contains: false, loc: headRef.loc };
    if (this.isOp('(') && !this.tok.ws) {
      this.next();
      this.depth++;
      head.args = [];
      while (!this.isOp(')')) {
        head.args.push(this.parseTerm());
        if (!this.isOp(',')) break;
        this.next();
      }
      this.depth--;
      this.expectOp(')');
    }
    if (this.isIdent('contains')) {
      this.next();
      head.key = this.parseTerm();
      head.contains = true;
    }
    if (this.isOp('=') || this.isOp(':=')) {
      head.assign = this.next().text === ':=';
      head.value = this.parseTerm();
    }
    head.loc = this.span(head.loc, this.prevLoc());
    if (isDefault) {
      if (!head.value) this.fail('default rules must have a value assigned', startTok);
      if (head.contains) this.fail('default rules cannot be multi-value', startTok);
    }
    // v0 `p[x] { }` is a partial set; in v1 it is `p[x] = true`.
    const last = head.ref[head.ref.length - 1];
    if (
      !head.value &&
      !head.contains &&
      !head.args &&
      head.ref.length > 1 &&
      (bracketed || !(last.type === 'scalar' && typeof last.value === 'string'))
    ) {
      if (this.regoVersion === 0 && !this.isIdent('if')) {
        head.key = last;
        head.ref = head.ref.slice(0, -1);
        head.contains = true;
      }
    }

    const rules: Rule[] = [];
    const make = (body: Body, bodyless: boolean, loc: Location): Rule => ({
      kind: head.args ? 'function' : head.contains ? 'set' : 'complete',
      head,
      body,
      isDefault,
      path: [],
      nslots: 0,
      module,
      bodyless,
      loc,
    });
    const { body, bodyless } = this.parseRuleBody(isDefault);
    const rule = make(body, bodyless, this.span(startTok.loc, this.prevLoc()));
    rules.push(rule);
    // else chains
    let cur = rule;
    while (this.isIdent('else')) {
      const elseTok = this.next();
      let value: Term | undefined;
      if (this.isOp('=') || this.isOp(':=')) {
        this.next();
        value = this.parseTerm();
      }
      const eb = this.parseRuleBody(false);
      const eh: RuleHead = { ...head, value, loc: elseTok.loc };
      const er: Rule = { ...make(eb.body, eb.bodyless, this.span(elseTok.loc, this.prevLoc())), head: eh };
      cur.else = er;
      cur = er;
    }
    // v0 chained bodies: p { a } { b }
    while (this.regoVersion === 0 && this.isOp('{') && !bodyless) {
      const b = this.parseBraceBody();
      rules.push(make(b, false, this.span(startTok.loc, this.prevLoc())));
    }
    if (!this.atEof() && !this.tok.nl && !this.isOp(';')) {
      this.fail(`unexpected ${this.describe()} token`);
    }
    return rules;
  }

  private parseRuleBody(isDefault: boolean): { body: Body; bodyless: boolean } {
    if (this.isIdent('if')) {
      if (isDefault) this.fail('default rules cannot have a body');
      this.next();
      if (this.isOp('{')) return { body: this.parseBraceBody(), bodyless: false };
      const lit = this.parseLiteral(0);
      return { body: [lit], bodyless: false };
    }
    if (this.isOp('{') && !this.tok.nl) {
      if (isDefault) this.fail('default rules cannot have a body');
      if (this.regoVersion === 1) this.fail('`if` keyword is required before rule body');
      return { body: this.parseBraceBody(), bodyless: false };
    }
    return { body: [], bodyless: true };
  }

  private parseBraceBody(): Body {
    this.expectOp('{');
    const saved = this.depth;
    this.depth = 0;
    const body = this.parseBodyUntil('}');
    this.depth = saved;
    this.expectOp('}');
    if (body.length === 0) this.fail('found empty body', this.prevLoc() as unknown as Token);
    return body;
  }

  /** Literals separated by `;` or newlines, up to (not including) the closing token. */
  private parseBodyUntil(close: string | null): Body {
    const body: Body = [];
    for (;;) {
      while (this.isOp(';')) this.next();
      if (close ? this.isOp(close) : this.atEof()) break;
      if (this.atEof()) this.fail('unexpected eof token');
      body.push(this.parseLiteral(body.length));
      if (close ? this.isOp(close) : this.atEof()) break;
      if (this.isOp(';')) continue;
      if (!this.tok.nl)
        this.fail(`unexpected ${this.describe()} token: expected \\n or ; or ${close ?? 'eof'}`);
    }
    return body;
  }

  parseQuery(): Body {
    const body = this.parseBodyUntil(null);
    if (body.length === 0) this.fail('empty query');
    return body;
  }

  // ---------------------------------------------------------------- literals

  private parseLiteral(index: number): Expr {
    const start = this.tok.loc;
    let negated = false;
    let expr: ExprBody;
    if (
      this.isIdent('some') &&
      !(this.peek().kind === 'op' && ['=', ':=', '.', '[', '('].includes(this.peek().text) && !this.peek().ws)
    ) {
      expr = this.parseSome();
    } else if (this.isIdent('every') && this.peek().kind === 'ident') {
      expr = this.parseEvery();
    } else {
      if (
        this.isIdent('not') &&
        !(this.peek().kind === 'op' && [':=', '=', '.', '['].includes(this.peek().text) && !this.peek().ws)
      ) {
        this.next();
        negated = true;
      }
      expr = this.parseExprCore();
    }
    const withs: With[] = [];
    while (this.isIdent('with')) {
      const wt = this.next();
      const target = this.parseRefOnly();
      if (!this.isIdent('as')) this.fail(`unexpected ${this.describe()} token: expected as`);
      this.next();
      const value = this.parseTerm();
      withs.push({ target, value, loc: this.span(wt.loc, this.prevLoc()) });
    }
    return { expr, negated, with: withs, index, loc: this.span(start, this.prevLoc()) };
  }

  private parseSome(): ExprBody {
    const start = this.next().loc;
    const terms: Term[] = [this.parseTermLevel(1)];
    while (this.isOp(',')) {
      this.next();
      terms.push(this.parseTermLevel(1));
    }
    if (this.isIdent('in')) {
      this.next();
      const domain = this.parseTermLevel(1);
      if (terms.length > 2) this.fail('unexpected , token: expected `some x in xs` or `some k, v in xs`');
      const loc = this.span(start, this.prevLoc());
      return terms.length === 2
        ? { type: 'somein', key: terms[0], value: terms[1], domain, loc }
        : { type: 'somein', value: terms[0], domain, loc };
    }
    const vars: Var[] = [];
    for (const t of terms) {
      if (t.type !== 'var') throw new RegoError('rego_parse_error', 'expected var', t.loc, this.text);
      vars.push(t);
    }
    return { type: 'somedecl', vars, loc: this.span(start, this.prevLoc()) };
  }

  private parseEvery(): ExprBody {
    const start = this.next().loc;
    let key: Term | undefined;
    let value = this.parseTermLevel(1);
    if (this.isOp(',')) {
      this.next();
      key = value;
      value = this.parseTermLevel(1);
    }
    if (!this.isIdent('in')) this.fail(`unexpected ${this.describe()} token: expected in`);
    this.next();
    const domain = this.parseTermLevel(1);
    const body = this.parseBraceBody();
    return { type: 'every', key, value, domain, body, loc: this.span(start, this.prevLoc()) };
  }

  private parseExprCore(): ExprBody {
    const start = this.tok.loc;
    const lhs = this.parseTerm(this.depth === 0);
    if ((this.isOp('=') || this.isOp(':=')) && !(this.tok.nl && this.depth === 0)) {
      const op = this.next().text === ':=' ? 'assign' : 'eq';
      const rhs = this.parseTerm(true);
      const call = this.mkCall(op, [lhs, rhs], this.span(start, this.prevLoc()));
      return { type: 'callexpr', call, loc: call.loc };
    }
    if (lhs.type === 'call') return { type: 'callexpr', call: lhs, loc: lhs.loc };
    return { type: 'term', term: lhs, loc: lhs.loc };
  }

  private mkCall(name: string, args: Term[], loc: Location): Call {
    const parts = name.split('.');
    const op: Ref = {
      type: 'ref',
      terms: [
        { type: 'var', name: parts[0], slot: -1, loc },
        ...parts.slice(1).map((p) => ({ type: 'scalar' as const, value: p, loc })),
      ],
      loc,
    };
    return { type: 'call', op, args, loc };
  }

  // ---------------------------------------------------------------- terms

  /** A full term including `in` membership and infix operators; `allowKV` also reads `k, v in xs`. */
  parseTerm(allowKV = false): Term {
    const start = this.tok.loc;
    let t = this.parseTermLevel(0);
    if (allowKV && this.isOp(',')) {
      const save = this.pos;
      this.next();
      try {
        const v = this.parseTermLevel(0);
        if (this.isIdent('in')) {
          this.next();
          const dom = this.parseTermLevel(0);
          t = this.mkCall('internal.member_3', [t, v, dom], this.span(start, this.prevLoc()));
        } else this.pos = save;
      } catch {
        this.pos = save;
      }
    }
    while (this.isIdent('in') && !(this.tok.nl && this.depth === 0)) {
      this.next();
      const rhs = this.parseTermLevel(0);
      t = this.mkCall('internal.member_2', [t, rhs], this.span(start, this.prevLoc()));
    }
    return t;
  }

  /** Infix levels: 0 relations, 1 `|`, 2 `&`, 3 `+ -`, 4 `* / %`, 5 primary. */
  private parseTermLevel(level: number, noOr = false): Term {
    if (level >= LEVELS.length) return this.parsePrimary();
    const start = this.tok.loc;
    let lhs = this.parseTermLevel(level + 1, noOr);
    for (;;) {
      const t = this.tok;
      if (t.kind !== 'op' || !LEVELS[level].includes(t.text)) break;
      if (t.nl && this.depth === 0) break;
      if (noOr && t.text === '|') break;
      this.next();
      const rhs = this.parseTermLevel(level + 1, noOr);
      lhs = this.mkCall(INFIX[t.text], [lhs, rhs], this.span(start, this.prevLoc()));
    }
    return lhs;
  }

  private parsePrimary(): Term {
    const t = this.tok;
    let term: Term;
    if (t.kind === 'number') {
      this.next();
      term = { type: 'scalar', value: numberLiteral(t.text), loc: t.loc };
    } else if (t.kind === 'string' || t.kind === 'rawstring') {
      this.next();
      term = { type: 'scalar', value: t.text, loc: t.loc };
    } else if (this.isOp('-') && this.peek().kind === 'number' && !this.peek().ws) {
      this.next();
      const nt = this.next();
      term = { type: 'scalar', value: negate(numberLiteral(nt.text)), loc: this.span(t.loc, nt.loc) };
    } else if (t.kind === 'ident') {
      this.next();
      if (t.text === 'true' || t.text === 'false')
        term = { type: 'scalar', value: t.text === 'true', loc: t.loc };
      else if (t.text === 'null') term = { type: 'scalar', value: null, loc: t.loc };
      else if (t.text === 'set' && this.isOp('(') && !this.tok.ws && this.isOp(')', this.peek())) {
        this.next();
        const e = this.next();
        term = { type: 'set', items: [], loc: this.span(t.loc, e.loc) };
      } else term = { type: 'var', name: t.text, slot: -1, loc: t.loc };
    } else if (this.isOp('[')) {
      term = this.parseArray();
    } else if (this.isOp('{')) {
      term = this.parseBrace();
    } else if (this.isOp('(')) {
      this.next();
      this.depth++;
      term = this.parseTerm(true);
      this.depth--;
      this.expectOp(')');
    } else {
      this.fail(t.kind === 'eof' ? 'unexpected eof token' : `unexpected ${this.describe()} token`);
    }
    return this.parseRefTail(term);
  }

  private parseRefTail(head: Term): Term {
    let term = head;
    for (;;) {
      const t = this.tok;
      if (t.ws) break;
      if (this.isOp('.') && this.peek().kind === 'ident' && !this.peek().ws) {
        this.next();
        const id = this.next();
        term = this.extendRef(term, { type: 'scalar', value: id.text, loc: id.loc });
      } else if (this.isOp('[')) {
        this.next();
        this.depth++;
        const key = this.parseTerm();
        this.depth--;
        this.expectOp(']');
        term = this.extendRef(term, key);
      } else if (
        this.isOp('(') &&
        (term.type === 'var' || (term.type === 'ref' && term.terms[0].type === 'var'))
      ) {
        this.next();
        this.depth++;
        const args: Term[] = [];
        while (!this.isOp(')')) {
          args.push(this.parseTerm());
          if (!this.isOp(',')) break;
          this.next();
        }
        this.depth--;
        this.expectOp(')');
        const op: Ref = term.type === 'ref' ? term : { type: 'ref', terms: [term], loc: term.loc };
        term = { type: 'call', op, args, loc: this.span(term.loc, this.prevLoc()) };
      } else break;
    }
    return term;
  }

  private extendRef(base: Term, key: Term): Ref {
    const loc = this.span(base.loc, this.prevLoc());
    if (base.type === 'ref') return { type: 'ref', terms: [...base.terms, key], loc };
    return { type: 'ref', terms: [base, key], loc };
  }

  private parseArray(): Term {
    const start = this.next().loc;
    this.depth++;
    const items: Term[] = [];
    if (!this.isOp(']')) {
      const first = this.parseTermOrIn(true);
      if (this.isOp('|')) {
        this.next();
        const body = this.parseCompBody(']');
        this.depth--;
        const end = this.expectOp(']');
        return { type: 'arraycomp', term: first, body, loc: this.span(start, end.loc) };
      }
      items.push(first);
      while (this.isOp(',')) {
        this.next();
        if (this.isOp(']')) break;
        items.push(this.parseTerm());
      }
    }
    this.depth--;
    const end = this.expectOp(']');
    return { type: 'array', items, loc: this.span(start, end.loc) };
  }

  private parseTermOrIn(noOr: boolean): Term {
    const start = this.tok.loc;
    let t = this.parseTermLevel(0, noOr);
    while (this.isIdent('in')) {
      this.next();
      const rhs = this.parseTermLevel(0, noOr);
      t = this.mkCall('internal.member_2', [t, rhs], this.span(start, this.prevLoc()));
    }
    return t;
  }

  private parseCompBody(close: string): Body {
    const saved = this.depth;
    this.depth = 0;
    const body = this.parseBodyUntil(close);
    this.depth = saved;
    if (body.length === 0) this.fail('found empty body');
    return body;
  }

  private parseBrace(): Term {
    const start = this.next().loc;
    this.depth++;
    if (this.isOp('}')) {
      this.depth--;
      const end = this.next();
      return { type: 'object', items: [], loc: this.span(start, end.loc) };
    }
    const first = this.parseTermOrIn(true);
    if (this.isOp(':')) {
      this.next();
      const v = this.parseTermOrIn(true);
      if (this.isOp('|')) {
        this.next();
        const body = this.parseCompBody('}');
        this.depth--;
        const end = this.expectOp('}');
        return { type: 'objectcomp', key: first, value: v, body, loc: this.span(start, end.loc) };
      }
      const items: [Term, Term][] = [[first, v]];
      while (this.isOp(',')) {
        this.next();
        if (this.isOp('}')) break;
        const k = this.parseTerm();
        this.expectOp(':');
        items.push([k, this.parseTerm()]);
      }
      this.depth--;
      const end = this.expectOp('}');
      return { type: 'object', items, loc: this.span(start, end.loc) };
    }
    if (this.isOp('|')) {
      this.next();
      const body = this.parseCompBody('}');
      this.depth--;
      const end = this.expectOp('}');
      return { type: 'setcomp', term: first, body, loc: this.span(start, end.loc) };
    }
    const items: Term[] = [first];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp('}')) break;
      items.push(this.parseTerm());
    }
    this.depth--;
    const end = this.expectOp('}');
    return { type: 'set', items, loc: this.span(start, end.loc) };
  }
}

export function parseModule(text: string, file: string, opts: ParseOptions = {}): Module {
  return new Parser(text, file, opts).parseModule();
}

export function parseQuery(text: string, opts: ParseOptions = {}, file = ''): Body {
  return new Parser(text, file, opts).parseQuery();
}

/** Parses a single term, e.g. an `input_term` or a `--input` given as Rego. */
export function parseTermText(text: string, file = ''): Term {
  const p = new Parser(text, file, {});
  const body = p.parseQuery();
  if (body.length !== 1 || body[0].expr.type !== 'term')
    throw new RegoError('rego_parse_error', 'expected a single term', body[0]?.loc);
  return body[0].expr.term;
}

/** Integer literals beyond ±2^53 stay exact (bigint), as OPA keeps them; everything else is a double. */
function numberLiteral(text: string): number | bigint {
  const n = Number(text);
  if (Number.isSafeInteger(n) || !/^\d+$/.test(text)) return n;
  return bignum(BigInt(text));
}

function negate(n: number | bigint): number | bigint {
  return typeof n === 'bigint' ? -n : -n;
}
