/**
 * The lexer of the Go text/template subset (see template.ts): text, `{{ }}` actions with the
 * trim markers `{{- ` and ` -}}`, `{{/* comments *\/}}`, and the tokens inside an action as Go's
 * text/template/parse lexes them. Positions are offsets into the source.
 */
import { TemplateError } from './errors.js';

export type TokKind =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'field'
  | 'dot'
  | 'var'
  | 'ident'
  | 'keyword'
  | 'string'
  | 'number'
  | 'char'
  | 'bool'
  | 'nil'
  | 'eof';

export interface Tok {
  kind: TokKind;
  /** The token's source text; for a string, its value unquoted. */
  val: string;
  pos: number;
  /** A string's literal as written (quotes included). */
  lit?: string;
}

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'break',
  'continue',
  'define',
  'template',
  'block',
]);

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);

/** The line (1-based) of an offset, for parse errors (`template: :LINE: ...`). */
export function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === '\n') n++;
  return n;
}

/** Go's `%#U` of a character: U+0040 '@'. */
function charName(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

/** Go's unquoting of a "..." literal (the escapes Go accepts), or undefined when it is invalid. */
export function unquote(lit: string): string | undefined {
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e in simple) out += simple[e];
    else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return undefined;
      out += e === 'x' ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      i += len;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else return undefined;
  }
  return out;
}

export function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const fail = (msg: string, at: number): never => {
    throw new TemplateError(`template: :${lineOf(src, at)}: ${msg}`);
  };
  /** A right delimiter at `j`: `}}`, or ` -}}` (a space, then the trim marker). */
  const rightAt = (j: number): { len: number; trim: boolean } | undefined => {
    if (src.startsWith('}}', j)) return { len: 2, trim: false };
    if (isSpace(src[j]) && src.startsWith('-}}', j + 1)) return { len: 4, trim: true };
    return undefined;
  };
  let trimNext = false;
  while (i < src.length) {
    // text up to the next action
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    const leftTrim = open >= 0 && src[open + 2] === '-' && isSpace(src[open + 3]);
    if (leftTrim) text = text.replace(/[ \t\r\n]+$/, '');
    if (text) toks.push({ kind: 'text', val: text, pos: i });
    if (open < 0) break;
    let j = open + (leftTrim ? 4 : 2);
    // a comment fills the whole action
    if (src.startsWith('/*', j)) {
      const end = src.indexOf('*/', j + 2);
      if (end < 0) fail('unclosed comment', open);
      const r = rightAt(end + 2);
      if (!r) fail('comment ends before closing delimiter', open);
      i = end + 2 + r!.len;
      trimNext = r!.trim;
      continue;
    }
    toks.push({ kind: 'left', val: '{{', pos: open });
    let parens = 0;
    for (;;) {
      const r = rightAt(j);
      if (r) {
        if (parens > 0) fail('unclosed left paren', open);
        toks.push({ kind: 'right', val: '}}', pos: j });
        j += r.len;
        trimNext = r.trim;
        break;
      }
      const c = src[j];
      if (c === undefined) fail('unclosed action', open);
      const start = j;
      const push = (kind: TokKind, val = src.slice(start, j)) => toks.push({ kind, val, pos: start });
      if (isSpace(c)) {
        // spaces separate words; a space before `-}}` belongs to that delimiter
        while (isSpace(src[j]) && !src.startsWith('-}}', j + 1)) j++;
        push('space');
        continue;
      }
      if (c === '|') {
        j++;
        push('pipe');
      } else if (c === '(') {
        j++;
        parens++;
        push('lparen');
      } else if (c === ')') {
        j++;
        if (--parens < 0) fail(`unexpected right paren`, start);
        push('rparen');
      } else if (c === ',') {
        j++;
        push('comma');
      } else if (c === '=') {
        j++;
        push('assign');
      } else if (c === ':') {
        if (src[j + 1] !== '=') fail('expected :=', start);
        j += 2;
        push('declare');
      } else if (c === '"') {
        j++;
        while (j < src.length && src[j] !== '"') {
          if (src[j] === '\n') fail('unterminated quoted string', start);
          if (src[j] === '\\') j++;
          j++;
        }
        if (j >= src.length) fail('unterminated quoted string', start);
        j++;
        const lit = src.slice(start, j);
        const v = unquote(lit);
        if (v === undefined) fail(`invalid syntax: ${lit}`, start);
        toks.push({ kind: 'string', val: v!, pos: start, lit });
      } else if (c === '`') {
        const end = src.indexOf('`', j + 1);
        if (end < 0) fail('unterminated raw quoted string', start);
        j = end + 1;
        toks.push({ kind: 'string', val: src.slice(start + 1, end), pos: start, lit: src.slice(start, j) });
      } else if (c === "'") {
        j++;
        while (j < src.length && src[j] !== "'") {
          if (src[j] === '\n') fail('unterminated character constant', start);
          if (src[j] === '\\') j++;
          j++;
        }
        if (j >= src.length) fail('unterminated character constant', start);
        j++;
        push('char');
      } else if (c === '$') {
        j++;
        while (isAlnum(src[j])) j++;
        push('var');
      } else if (c === '.' && !/[0-9]/.test(src[j + 1] ?? '')) {
        j++;
        if (isAlnum(src[j])) {
          while (isAlnum(src[j])) j++;
          push('field');
        } else push('dot');
      } else if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(
          src.slice(j),
        );
        const num = m?.[0] ?? '';
        if (!/\d/.test(num)) fail(`bad number syntax: "${src.slice(j, j + 2)}"`, start);
        j += num.length;
        if (isAlnum(src[j]) || src[j] === '.') fail(`bad number syntax: "${src.slice(start, j + 1)}"`, start);
        push('number');
      } else if (isAlnum(c)) {
        while (isAlnum(src[j])) j++;
        const w = src.slice(start, j);
        push(
          KEYWORDS.has(w)
            ? 'keyword'
            : w === 'true' || w === 'false'
              ? 'bool'
              : w === 'nil'
                ? 'nil'
                : 'ident',
        );
      } else {
        fail(`unexpected bad character ${charName([...src.slice(j, j + 2)][0])} in command`, start);
      }
      // Go: a word must end at a space, a delimiter or punctuation.
      const last = toks[toks.length - 1];
      if (['field', 'var', 'ident', 'keyword', 'bool', 'nil', 'dot'].includes(last.kind)) {
        const n = src[j];
        if (n !== undefined && !isSpace(n) && !'.,|:()='.includes(n) && !src.startsWith('}}', j))
          fail(`unexpected bad character ${charName([...src.slice(j, j + 2)][0])} in command`, j);
      }
    }
    i = j;
  }
  toks.push({ kind: 'eof', val: '', pos: src.length });
  return toks;
}
