/** regex.* (Go RE2 syntax translated to JS, compiled regexes cached) and glob.*. */
import { operandError } from '../errors.js';
import { RSet, typeName, type Value } from '../value.js';
import { globsIntersect } from './globs-intersect.js';
import { register } from './registry.js';
import { fail, int, str } from './util.js';

const CACHE = new Map<string, RegExp>();

/** Translates RE2 syntax to a JS RegExp (named groups, leading inline flags, \A \z). */
export function compileRegex(fn: string, pattern: string, global = false): RegExp {
  const key = (global ? 'g' : '') + pattern;
  const hit = CACHE.get(key);
  if (hit) {
    hit.lastIndex = 0;
    return hit;
  }
  let src = pattern;
  let flags = global ? 'gu' : 'u';
  const m = /^\(\?([imsU]+)\)/.exec(src);
  if (m) {
    src = src.slice(m[0].length);
    if (m[1].includes('i')) flags += 'i';
    if (m[1].includes('m')) flags += 'm';
    if (m[1].includes('s')) flags += 's';
  }
  src = src
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$(?![\\s\\S])');
  let re: RegExp;
  try {
    re = new RegExp(src, flags);
  } catch {
    try {
      re = new RegExp(src, flags.replace('u', ''));
    } catch (e) {
      fail(fn, `error parsing regexp: ${goRegexError(pattern, (e as Error).message)}`);
    }
  }
  if (CACHE.size > 1000) CACHE.clear();
  CACHE.set(key, re);
  return re;
}

/** Go's regexp/syntax wording for the common errors (V8's messages differ). */
function goRegexError(pattern: string, msg: string): string {
  if (/Unterminated character class/.test(msg)) {
    // the last '[' that is not escaped and not closed
    let open = -1;
    for (let i = 0; i < pattern.length; i++) {
      if (pattern[i] === '\\') i++;
      else if (pattern[i] === '[' && open < 0) open = i;
      else if (pattern[i] === ']' && open >= 0 && i > open + 1) open = -1;
    }
    return `missing closing ]: \`${open >= 0 ? pattern.slice(open) : pattern}\``;
  }
  if (/Unterminated group/.test(msg)) return `missing closing ): \`${pattern}\``;
  if (/Unmatched '\)'/.test(msg)) return `unexpected ): \`${pattern}\``;
  if (/Nothing to repeat/.test(msg)) {
    const m = /(?:^|[^\\])([*+?]+|\{\d+(?:,\d*)?\})/.exec(pattern);
    return `missing argument to repetition operator: \`${m ? m[1] : pattern}\``;
  }
  if (/Invalid escape|\\ at end of pattern/.test(msg)) {
    const m = /\\.?/.exec(pattern);
    return /\\ at end/.test(msg)
      ? 'trailing backslash at end of expression: ``'
      : `invalid escape sequence: \`${m ? m[0] : ''}\``;
  }
  return msg;
}

register('regex.match', (a) =>
  compileRegex('regex.match', str('regex.match', a, 0)).test(str('regex.match', a, 1)),
);
register('re_match', (a) => compileRegex('re_match', str('re_match', a, 0)).test(str('re_match', a, 1)));
register('regex.is_valid', ([p]) => {
  if (typeof p !== 'string') return false;
  try {
    compileRegex('regex.is_valid', p);
    return true;
  } catch {
    return false;
  }
});
register('regex.split', (a) => {
  const re = compileRegex('regex.split', str('regex.split', a, 0), true);
  return str('regex.split', a, 1).split(re);
});
register('regex.find_n', (a) => {
  const re = compileRegex('regex.find_n', str('regex.find_n', a, 0), true);
  const s = str('regex.find_n', a, 1);
  const n = int('regex.find_n', a, 2);
  const out: Value[] = [];
  for (const m of s.matchAll(re)) {
    if (n >= 0 && out.length >= n) break;
    out.push(m[0]);
  }
  return out;
});
register('regex.find_all_string_submatch_n', (a) => {
  const fn = 'regex.find_all_string_submatch_n';
  const re = compileRegex(fn, str(fn, a, 0), true);
  const s = str(fn, a, 1);
  const n = int(fn, a, 2);
  const out: Value[] = [];
  for (const m of s.matchAll(re)) {
    if (n >= 0 && out.length >= n) break;
    out.push([...m].map((x) => x ?? ''));
  }
  return out;
});
register('regex.replace', (a) => {
  const s = str('regex.replace', a, 0);
  const re = compileRegex('regex.replace', str('regex.replace', a, 1), true);
  const repl = str('regex.replace', a, 2)
    .replace(/\$\{(\d+)\}/g, '$$$1')
    .replace(/\$\{(\w+)\}/g, '$$<$1>');
  return s.replace(re, repl);
});
register('regex.template_match', (a) => {
  const fn = 'regex.template_match';
  const tpl = str(fn, a, 0);
  const s = str(fn, a, 1);
  const open = str(fn, a, 2);
  const close = str(fn, a, 3);
  let src = '';
  let i = 0;
  while (i < tpl.length) {
    const j = tpl.indexOf(open, i);
    if (j < 0) {
      src += escapeRe(tpl.slice(i));
      break;
    }
    src += escapeRe(tpl.slice(i, j));
    const k = tpl.indexOf(close, j + open.length);
    if (k < 0) fail(fn, 'unbalanced braces');
    src += '(?:' + tpl.slice(j + open.length, k) + ')';
    i = k + close.length;
  }
  return compileRegex(fn, '^' + src + '$').test(s);
});
register('regex.globs_match', (a) =>
  globsIntersect('regex.globs_match', str('regex.globs_match', a, 0), str('regex.globs_match', a, 1)),
);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---------------------------------------------------------------- glob

// delimiters → pattern → RegExp (no key strings built per call)
const GLOB_CACHE = new Map<string, Map<string, RegExp>>();
let globCount = 0;

/** Compiles a gobwas/glob pattern: * (no delimiters), ** (anything), ?, [...], [!...], {a,b}. */
export function compileGlob(pattern: string, delims: string[]): RegExp {
  const dkey = delims.length === 1 ? delims[0] : delims.join('\u0000');
  let byPattern = GLOB_CACHE.get(dkey);
  const hit = byPattern?.get(pattern);
  if (hit) return hit;
  const notDelim = delims.length ? '[^' + delims.map(escapeClass).join('') + ']' : '[\\s\\S]';
  let i = 0;
  const parse = (inAlt: boolean): string => {
    let out = '';
    while (i < pattern.length) {
      const c = pattern[i];
      if (inAlt && (c === ',' || c === '}')) return out;
      i++;
      switch (c) {
        case '\\':
          if (i < pattern.length) out += escapeRe(pattern[i++]);
          else throw new Error('unexpected end of pattern');
          break;
        case '*':
          if (pattern[i] === '*') {
            i++;
            out += '[\\s\\S]*';
          } else out += notDelim + '*';
          break;
        case '?':
          out += notDelim;
          break;
        case '[': {
          let neg = false;
          if (pattern[i] === '!') {
            neg = true;
            i++;
          }
          let cls = '';
          while (i < pattern.length && pattern[i] !== ']') {
            if (pattern[i] === '\\') i++;
            const ch = pattern[i++];
            if (pattern[i] === '-' && pattern[i + 1] !== ']' && i + 1 < pattern.length) {
              i++;
              cls += escapeClass(ch) + '-' + escapeClass(pattern[i++]);
            } else cls += escapeClass(ch);
          }
          if (pattern[i] !== ']') throw new Error('unclosed [');
          i++;
          out += neg ? '[^' + cls + delims.map(escapeClass).join('') + ']' : '[' + cls + ']';
          break;
        }
        case '{': {
          const alts: string[] = [];
          for (;;) {
            alts.push(parse(true));
            if (pattern[i] === ',') {
              i++;
              continue;
            }
            if (pattern[i] === '}') {
              i++;
              break;
            }
            throw new Error('unclosed {');
          }
          out += '(?:' + alts.join('|') + ')';
          break;
        }
        default:
          out += escapeRe(c);
      }
    }
    return out;
  };
  const re = new RegExp('^' + parse(false) + '$', 'su');
  if (++globCount > 1000) {
    GLOB_CACHE.clear();
    globCount = 0;
    byPattern = undefined;
  }
  if (!byPattern) GLOB_CACHE.set(dkey, (byPattern = new Map()));
  byPattern.set(pattern, re);
  return re;
}

function escapeClass(c: string): string {
  return c.replace(/[\]\\^-]/g, '\\$&');
}

register('glob.match', (a) => {
  const pattern = str('glob.match', a, 0);
  const d = a[1];
  let delims: string[];
  if (d === null) delims = [];
  else if (Array.isArray(d) || d instanceof RSet) {
    const xs = Array.isArray(d) ? d : d.sorted();
    for (const x of xs)
      if (typeof x !== 'string') throw operandError('glob.match', 2, 'array of strings', typeName(d));
    delims = xs.length === 0 ? ['.'] : (xs as string[]);
  } else throw operandError('glob.match', 2, 'array', typeName(d));
  const s = str('glob.match', a, 2);
  let re: RegExp;
  try {
    re = compileGlob(pattern, delims);
  } catch (e) {
    fail('glob.match', (e as Error).message);
  }
  return re.test(s);
});
register('glob.quote_meta', (a) => str('glob.quote_meta', a, 0).replace(/[*?\\[\]{}]/g, '\\$&'));
