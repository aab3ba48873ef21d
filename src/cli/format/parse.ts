/**
 * The parser of the Go text/template subset: Go's text/template/parse grammar for text, actions,
 * pipelines (`cmd | cmd`), variable declarations (`$x := ...`, `range $i, $e := ...`), `if`,
 * `with` and `range` with `else` (and `else if` / `else with`), `break` and `continue`, and
 * parenthesized pipelines. `define`, `template` and `block` are refused. Errors are Go's
 * (`template: :LINE: ...`); nesting is bounded so a hostile format cannot exhaust the stack.
 */
import { TemplateError } from './errors.js';
import { lex, lineOf, unquote, type Tok } from './lex.js';

export type Arg =
  | { t: 'field'; pos: number; idents: string[] }
  | { t: 'var'; pos: number; name: string; idents: string[] }
  | { t: 'chain'; pos: number; node: Arg; idents: string[] }
  | { t: 'ident'; pos: number; name: string }
  | { t: 'dot'; pos: number }
  | { t: 'nil'; pos: number }
  | { t: 'bool'; pos: number; val: boolean }
  | { t: 'number'; pos: number; val: number; text: string }
  | { t: 'string'; pos: number; val: string; text: string }
  | { t: 'pipe'; pos: number; pipe: Pipe };

export interface Cmd {
  pos: number;
  args: Arg[];
}

export interface Pipe {
  pos: number;
  decl: { name: string; pos: number }[];
  isAssign: boolean;
  cmds: Cmd[];
}

export interface Control {
  t: 'if' | 'with' | 'range';
  pos: number;
  pipe: Pipe;
  list: Node[];
  elseList?: Node[];
}

export type Node =
  | { t: 'text'; pos: number; text: string }
  | { t: 'action'; pos: number; pipe: Pipe }
  | Control
  | { t: 'break' | 'continue'; pos: number };

/** How deep `if`/`range`/`with` and parentheses may nest. */
export const MAX_NESTING = 100;

/** Go's String() of an argument, as exec errors show it (`at <.A.B>`). */
export function showArg(a: Arg): string {
  switch (a.t) {
    case 'field':
      return '.' + a.idents.join('.');
    case 'var':
      return [a.name, ...a.idents].join('.');
    case 'chain':
      return `${a.node.t === 'pipe' ? `(${showPipe(a.node.pipe)})` : showArg(a.node)}.${a.idents.join('.')}`;
    case 'ident':
      return a.name;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.val);
    case 'number':
    case 'string':
      return a.text;
    case 'pipe':
      return `(${showPipe(a.pipe)})`;
  }
}

export function showCmd(c: Cmd): string {
  return c.args.map(showArg).join(' ');
}

export function showPipe(p: Pipe): string {
  const decl = p.decl.length ? `${p.decl.map((d) => d.name).join(', ')} ${p.isAssign ? '=' : ':='} ` : '';
  return decl + p.cmds.map(showCmd).join(' | ');
}

/** Go's item String(): EOF, `<keyword>`, or the quoted text. */
function showTok(t: Tok): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'keyword') return `<${t.val}>`;
  const v = t.kind === 'string' ? (t.lit ?? t.val) : t.val;
  return v.length > 10 ? `${JSON.stringify(v.slice(0, 10))}...` : JSON.stringify(v);
}

export function parse(src: string, funcs: ReadonlySet<string>): Node[] {
  const toks = lex(src);
  let at = 0;
  let depth = 0;
  let rangeDepth = 0;
  const vars: string[] = ['$'];

  const fail = (msg: string, pos: number): never => {
    throw new TemplateError(`template: :${lineOf(src, pos)}: ${msg}`);
  };
  const peek = () => toks[at];
  const next = () => toks[at++];
  const skipSpace = () => {
    while (toks[at].kind === 'space') at++;
  };
  const peekNonSpace = () => {
    skipSpace();
    return toks[at];
  };
  const nextNonSpace = () => {
    skipSpace();
    return toks[at++];
  };
  const unexpected = (t: Tok, context: string): never =>
    fail(`unexpected ${showTok(t)} in ${context}`, t.pos);
  const enter = (pos: number) => {
    if (++depth > MAX_NESTING) fail(`nesting too deep (more than ${MAX_NESTING} levels)`, pos);
  };

  function term(): Arg | undefined {
    const t = nextNonSpace();
    switch (t.kind) {
      case 'ident':
        if (!funcs.has(t.val)) fail(`function ${JSON.stringify(t.val)} not defined`, t.pos);
        return { t: 'ident', pos: t.pos, name: t.val };
      case 'dot':
        return { t: 'dot', pos: t.pos };
      case 'nil':
        return { t: 'nil', pos: t.pos };
      case 'var':
        if (!vars.includes(t.val)) fail(`undefined variable ${JSON.stringify(t.val)}`, t.pos);
        return { t: 'var', pos: t.pos, name: t.val, idents: [] };
      case 'field':
        return { t: 'field', pos: t.pos, idents: [t.val.slice(1)] };
      case 'bool':
        return { t: 'bool', pos: t.pos, val: t.val === 'true' };
      case 'number':
        return { t: 'number', pos: t.pos, val: parseNumber(t.val, t.pos), text: t.val };
      case 'char': {
        const v = unquote(`"${t.val.slice(1, -1).replace(/"/g, '\\"')}"`);
        if (v === undefined || [...v].length !== 1) fail(`malformed character constant: ${t.val}`, t.pos);
        return { t: 'number', pos: t.pos, val: v!.codePointAt(0)!, text: t.val };
      }
      case 'string':
        return { t: 'string', pos: t.pos, val: t.val, text: t.lit ?? JSON.stringify(t.val) };
      case 'lparen': {
        enter(t.pos);
        const p = pipeline('parenthesized pipeline', 'rparen');
        depth--;
        return { t: 'pipe', pos: t.pos, pipe: p };
      }
      default:
        break; // not a term: the caller says what it expected
    }
    at--;
    return undefined;
  }

  function parseNumber(text: string, pos: number): number {
    const neg = text.startsWith('-');
    const body = text.replace(/^[+-]/, '').replace(/_/g, '');
    const n = Number(body);
    if (!Number.isFinite(n)) fail(`bad number syntax: "${text}"`, pos);
    return neg ? -n : n;
  }

  function operand(): Arg | undefined {
    const node = term();
    if (!node) return undefined;
    if (peek().kind !== 'field') return node;
    const pos = peek().pos;
    const idents: string[] = [];
    while (peek().kind === 'field') idents.push(next().val.slice(1));
    switch (node.t) {
      case 'field':
        return { ...node, idents: [...node.idents, ...idents] };
      case 'var':
        return { ...node, idents: [...node.idents, ...idents] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return fail(`unexpected . after term ${JSON.stringify(showArg(node))}`, pos);
      default:
        return { t: 'chain', pos, node, idents };
    }
  }

  function command(): Cmd {
    const cmd: Cmd = { pos: peekNonSpace().pos, args: [] };
    for (;;) {
      skipSpace();
      const o = operand();
      if (o) cmd.args.push(o);
      const t = next();
      if (t.kind === 'space') continue;
      if (t.kind === 'right' || t.kind === 'rparen') at--;
      else if (t.kind !== 'pipe') unexpected(t, 'operand');
      break;
    }
    if (!cmd.args.length) fail('empty command', cmd.pos);
    return cmd;
  }

  function pipeline(context: string, end: 'right' | 'rparen'): Pipe {
    const pipe: Pipe = { pos: peekNonSpace().pos, decl: [], isAssign: false, cmds: [] };
    // declarations: `$x :=`, `$x =`, and in a range `$i, $e :=`
    decls: for (;;) {
      const v = peekNonSpace();
      if (v.kind !== 'var') break;
      const save = at;
      next();
      const n = peekNonSpace();
      if (n.kind === 'declare' || n.kind === 'assign') {
        next();
        pipe.isAssign = n.kind === 'assign';
        if (pipe.isAssign && !vars.includes(v.val))
          fail(`undefined variable ${JSON.stringify(v.val)}`, v.pos);
        pipe.decl.push({ name: v.val, pos: v.pos });
        if (!pipe.isAssign) vars.push(v.val);
        break;
      }
      if (n.kind === 'comma') {
        next();
        pipe.decl.push({ name: v.val, pos: v.pos });
        vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = peekNonSpace().kind;
          if (k === 'var' || k === 'right' || k === 'rparen') continue decls;
          fail('range can only initialize variables', n.pos);
        }
        fail(`too many declarations in ${context}`, n.pos);
      }
      at = save;
      break;
    }
    for (;;) {
      const t = peekNonSpace();
      if (t.kind === end) {
        next();
        if (!pipe.cmds.length) fail(`missing value for ${context}`, t.pos);
        pipe.cmds.slice(1).forEach((c, i) => {
          if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0].t))
            fail(`non executable command in pipeline stage ${i + 2}`, c.pos);
        });
        return pipe;
      }
      if (
        ['bool', 'char', 'dot', 'field', 'ident', 'number', 'nil', 'string', 'var', 'lparen'].includes(t.kind)
      )
        pipe.cmds.push(command());
      else unexpected(t, context);
    }
  }

  /** The body of a control action, up to its {{end}} (or an {{else}}, returned as such). */
  function itemList(): { list: Node[]; stop: 'end' | 'else' } {
    const list: Node[] = [];
    while (peekNonSpace().kind !== 'eof') {
      const n = textOrAction();
      if (n === 'end' || n === 'else') return { list, stop: n };
      list.push(n);
    }
    return fail('unexpected EOF', src.length);
  }

  function control(kind: 'if' | 'with' | 'range', pos: number): Node {
    enter(pos);
    const mark = vars.length;
    const pipe = pipeline(kind, 'right');
    if (kind === 'range') rangeDepth++;
    const body = itemList();
    if (kind === 'range') rangeDepth--;
    let elseList: Node[] | undefined;
    if (body.stop === 'else') {
      const k = peekNonSpace();
      if (
        (kind === 'if' && k.kind === 'keyword' && k.val === 'if') ||
        (kind === 'with' && k.kind === 'keyword' && k.val === 'with')
      ) {
        // `{{else if ...}}`: an if inside the else, sharing this one's {{end}}
        next();
        elseList = [control(kind, k.pos)];
      } else {
        const e = itemList();
        if (e.stop !== 'end') fail('expected end; found {{else}}', pos);
        elseList = e.list;
      }
    }
    vars.length = mark;
    depth--;
    return { t: kind, pos, pipe, list: body.list, elseList };
  }

  function expectRight(context: string) {
    const t = nextNonSpace();
    if (t.kind !== 'right') unexpected(t, context);
  }

  function textOrAction(): Node | 'end' | 'else' {
    const t = nextNonSpace();
    if (t.kind === 'text') return { t: 'text', pos: t.pos, text: t.val };
    if (t.kind !== 'left') return unexpected(t, 'input');
    const k = peekNonSpace();
    if (k.kind === 'keyword') {
      next();
      switch (k.val) {
        case 'end':
          expectRight('end');
          return 'end';
        case 'else': {
          // `else if` / `else with` leave the keyword to the enclosing control
          const n = peekNonSpace();
          if (n.kind === 'keyword' && (n.val === 'if' || n.val === 'with')) return 'else';
          expectRight('else');
          return 'else';
        }
        case 'if':
        case 'with':
        case 'range':
          return control(k.val, k.pos);
        case 'break':
        case 'continue':
          if (!rangeDepth) fail(`{{${k.val}}} outside {{range}}`, k.pos);
          expectRight(k.val);
          return { t: k.val, pos: k.pos };
        default:
          return fail(`{{${k.val}}} is not supported by moat's templates`, k.pos);
      }
    }
    return { t: 'action', pos: k.pos, pipe: pipeline('command', 'right') };
  }

  const root: Node[] = [];
  while (peek().kind !== 'eof') {
    const n = textOrAction();
    if (n === 'end' || n === 'else') fail(`unexpected {{${n}}}`, toks[at - 1].pos);
    root.push(n as Node);
  }
  return root;
}
