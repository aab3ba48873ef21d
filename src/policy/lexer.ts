/** Rego scanner: turns source text into tokens that remember whether whitespace or a newline preceded them. */
import type { Location } from './ast.js';
import { RegoError } from './errors.js';

export type TokKind = 'ident' | 'string' | 'rawstring' | 'number' | 'op' | 'eof';

export interface Token {
  kind: TokKind;
  /** Identifier name, operator text, decoded string, or number text. */
  text: string;
  loc: Location;
  /** Whitespace or a comment came just before this token. */
  ws: boolean;
  /** A newline came just before this token. */
  nl: boolean;
}

const OPS = [
  ':=',
  '==',
  '!=',
  '<=',
  '>=',
  '=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '|',
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  '.',
  ',',
  ';',
  ':',
];

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function tokenize(text: string, file: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let row = 1;
  let lineStart = 0;
  const n = text.length;
  const loc = (start: number, end: number, r = row, ls = lineStart): Location => ({
    file,
    row: r,
    col: start - ls + 1,
    start,
    end,
  });
  const err = (msg: string, at: number): RegoError =>
    new RegoError('rego_parse_error', msg, loc(at, at + 1), text);
  let ws = false;
  let nl = false;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      i++;
      row++;
      lineStart = i;
      ws = nl = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      ws = true;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      ws = true;
      continue;
    }
    const start = i;
    const push = (kind: TokKind, t: string, r = row, ls = lineStart): void => {
      toks.push({ kind, text: t, loc: loc(start, i, r, ls), ws, nl });
      ws = nl = false;
    };
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(text[i])) i++;
      push('ident', text.slice(start, i));
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      while (i < n && isDigit(text[i])) i++;
      if (text[i] === '.' && isDigit(text[i + 1] ?? '')) {
        i++;
        while (i < n && isDigit(text[i])) i++;
      }
      if (text[i] === 'e' || text[i] === 'E') {
        let j = i + 1;
        if (text[j] === '+' || text[j] === '-') j++;
        if (isDigit(text[j] ?? '')) {
          i = j;
          while (i < n && isDigit(text[i])) i++;
        }
      }
      if (i < n && isIdentStart(text[i])) throw err('illegal number format', start);
      push('number', text.slice(start, i));
      continue;
    }
    if (c === '"') {
      i++;
      let out = '';
      for (;;) {
        if (i >= n || text[i] === '\n') throw err('non-terminated string', start);
        const ch = text[i];
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\') {
          const e = text[i + 1];
          i += 2;
          switch (e) {
            case '"':
              out += '"';
              break;
            case '\\':
              out += '\\';
              break;
            case '/':
              out += '/';
              break;
            case 'b':
              out += '\b';
              break;
            case 'f':
              out += '\f';
              break;
            case 'n':
              out += '\n';
              break;
            case 'r':
              out += '\r';
              break;
            case 't':
              out += '\t';
              break;
            case 'u': {
              const hex = text.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw err('illegal unicode escape', i - 2);
              i += 4;
              out += String.fromCharCode(parseInt(hex, 16));
              break;
            }
            default:
              throw err('illegal escape sequence', i - 2);
          }
          continue;
        }
        out += ch;
        i++;
      }
      push('string', out);
      continue;
    }
    if (c === '`') {
      const r0 = row;
      const ls0 = lineStart;
      i++;
      const s = i;
      while (i < n && text[i] !== '`') {
        if (text[i] === '\n') {
          row++;
          lineStart = i + 1;
        }
        i++;
      }
      if (i >= n) throw err('non-terminated raw string', start);
      const body = text.slice(s, i);
      i++;
      push('rawstring', body, r0, ls0);
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) throw err(`illegal token '${c}'`, i);
    i += op.length;
    push('op', op);
  }
  toks.push({ kind: 'eof', text: '', loc: loc(n, n), ws, nl: true });
  return toks;
}
