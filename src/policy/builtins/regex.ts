/**
 * regex.* and glob.*, with Go's regular expression semantics and in linear time (re2.ts): a
 * pattern or an input a client chose cannot stall a decision.
 */
import { operandError } from '../errors.js';
import { RSet, typeName, type Value } from '../value.js';
import { globsIntersect } from './globs-intersect.js';
import { compileGo, isValidGo, subsetMatcher, type Budget, type Matcher } from './re2.js';
import { findAll, findAllSubmatch, quoteMeta, replaceAll, split } from './re2-methods.js';
import { MAX_RUNE, negate, normalize, set, type Node } from './re-subset.js';
import { register } from './registry.js';
import type { BuiltinContext } from './types.js';
import { fail, int, str } from './util.js';

const match = (fn: string) => (a: Value[], ctx: BuiltinContext) =>
  compileGo(fn, str(fn, a, 0), ctx).test(str(fn, a, 1), ctx);
register('regex.match', match('regex.match'));
register('re_match', match('re_match'));
register('regex.is_valid', ([p], ctx) => typeof p === 'string' && isValidGo(p, ctx));
register('regex.split', (a, ctx) => {
  const re = compileGo('regex.split', str('regex.split', a, 0), ctx);
  return split(re, str('regex.split', a, 1), ctx);
});
register('regex.find_n', (a, ctx) => {
  const re = compileGo('regex.find_n', str('regex.find_n', a, 0), ctx);
  return findAll(re, str('regex.find_n', a, 1), int('regex.find_n', a, 2), ctx);
});
register('regex.find_all_string_submatch_n', (a, ctx) => {
  const fn = 'regex.find_all_string_submatch_n';
  const re = compileGo(fn, str(fn, a, 0), ctx);
  return findAllSubmatch(re, str(fn, a, 1), int(fn, a, 2), ctx);
});
register('regex.replace', (a, ctx) => {
  const s = str('regex.replace', a, 0);
  const re = compileGo('regex.replace', str('regex.replace', a, 1), ctx);
  return replaceAll(re, s, str('regex.replace', a, 2), ctx);
});
register('regex.template_match', (a, ctx) => {
  const fn = 'regex.template_match';
  const tpl = str(fn, a, 0);
  const s = str(fn, a, 1);
  const open = str(fn, a, 2);
  const close = str(fn, a, 3);
  // OPA (from gorilla/mux): one byte each; its message for the end delimiter gives the start's length
  const bytes = (x: string): number => Buffer.byteLength(x);
  if (bytes(open) !== 1)
    fail(fn, `start delimiter has to be exactly one character long but is ${bytes(open)} long`);
  if (bytes(close) !== 1)
    fail(fn, `end delimiter has to be exactly one character long but is ${bytes(open)} long`);
  // first-level delimiter pairs
  const idxs: number[] = [];
  let level = 0;
  let at = 0;
  for (let i = 0; i < tpl.length; i++) {
    if (tpl[i] === open) {
      if (++level === 1) at = i;
    } else if (tpl[i] === close) {
      if (--level === 0) idxs.push(at, i + 1);
      else if (level < 0) fail(fn, `unbalanced braces in ${JSON.stringify(tpl)}`);
    }
  }
  if (level !== 0) fail(fn, `unbalanced braces in ${JSON.stringify(tpl)}`);
  let src = '^';
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const patt = tpl.slice(idxs[i] + 1, idxs[i + 1] - 1);
    src += quoteMeta(tpl.slice(end, idxs[i])) + '(' + patt + ')';
    end = idxs[i + 1];
    compileGo(fn, '^' + patt + '$', ctx); // each variable must be a valid expression on its own
  }
  src += quoteMeta(tpl.slice(end)) + '$';
  return compileGo(fn, src, ctx).test(s, ctx);
});
register('regex.globs_match', (a) =>
  globsIntersect('regex.globs_match', str('regex.globs_match', a, 0), str('regex.globs_match', a, 1)),
);

// ---------------------------------------------------------------- glob

// delimiters → pattern → matcher (no key strings built per call)
const GLOB_CACHE = new Map<string, Map<string, Matcher>>();
let globCount = 0;

/**
 * Compiles a gobwas/glob pattern (what OPA's glob.match takes): * (no delimiters), ** (anything),
 * ?, [...], [!...], {a,b}, to a subset tree (re2.ts's subsetMatcher): linear in the input,
 * however many stars (`*a*a*a*a*b` made a backtracking engine try every split).
 */
export function compileGlob(pattern: string, delims: string[], ctx: Budget): Matcher {
  const dkey = delims.length === 1 ? delims[0] : delims.join('\u0000');
  let byPattern = GLOB_CACHE.get(dkey);
  const hit = byPattern?.get(pattern);
  if (hit) return hit;
  ctx.charge(1 + pattern.length);
  const stops: number[] = [];
  for (const d of delims) for (const ch of d) stops.push(ch.codePointAt(0)!, ch.codePointAt(0)!);
  const any = [0, MAX_RUNE];
  const notDelim = negate(normalize(stops));
  const cps = [...pattern].map((ch) => ch.codePointAt(0)!);
  let i = 0;
  const parse = (inAlt: boolean): Node => {
    const xs: Node[] = [];
    while (i < cps.length) {
      const c = cps[i];
      if (inAlt && (c === 0x2c || c === 0x7d)) break; // , }
      i++;
      switch (c) {
        case 0x5c: // \
          if (i >= cps.length) throw new Error('unexpected end of pattern');
          xs.push({ t: 'set', r: [cps[i], cps[i]] });
          i++;
          break;
        case 0x2a: // *
          if (cps[i] === 0x2a) {
            i++;
            xs.push({ t: 'rep', x: set(any), min: 0, max: -1 });
          } else xs.push({ t: 'rep', x: { t: 'set', r: notDelim }, min: 0, max: -1 });
          break;
        case 0x3f: // ?
          xs.push({ t: 'set', r: notDelim });
          break;
        case 0x5b: {
          // [
          let neg = false;
          if (cps[i] === 0x21) {
            neg = true;
            i++;
          }
          const r: number[] = [];
          while (i < cps.length && cps[i] !== 0x5d) {
            if (cps[i] === 0x5c) i++;
            const lo = cps[i++];
            if (cps[i] === 0x2d && cps[i + 1] !== 0x5d && i + 1 < cps.length) {
              i++;
              const hi = cps[i++];
              if (hi < lo) throw new Error('invalid range in character class');
              r.push(lo, hi);
            } else if (lo !== undefined) r.push(lo, lo);
          }
          if (cps[i] !== 0x5d) throw new Error('unclosed [');
          i++;
          xs.push(neg ? { t: 'set', r: negate(normalize([...r, ...stops])) } : set(r));
          break;
        }
        case 0x7b: {
          // {
          const alts: Node[] = [];
          for (;;) {
            alts.push(parse(true));
            if (cps[i] === 0x2c) {
              i++;
              continue;
            }
            if (cps[i] === 0x7d) {
              i++;
              break;
            }
            throw new Error('unclosed {');
          }
          xs.push({ t: 'alt', xs: alts });
          break;
        }
        default:
          xs.push({ t: 'set', r: [c, c] });
      }
    }
    return xs.length === 1 ? xs[0] : xs.length === 0 ? { t: 'empty' } : { t: 'cat', xs };
  };
  // a glob has no counted repetitions: its NFA grows with the pattern only
  const dfa = subsetMatcher({ root: parse(false), anchorStart: true, anchorEnd: true }, Infinity)!;
  if (++globCount > 1000) {
    GLOB_CACHE.clear();
    globCount = 0;
    byPattern = undefined;
  }
  if (!byPattern) GLOB_CACHE.set(dkey, (byPattern = new Map()));
  byPattern.set(pattern, dfa);
  return dfa;
}

register('glob.match', (a, ctx) => {
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
  let dfa: Matcher;
  try {
    dfa = compileGlob(pattern, delims, ctx);
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e; // the budget's cancel
    fail('glob.match', e.message);
  }
  ctx.charge(1 + (s.length >> 4));
  return dfa.test(s, ctx);
});
register('glob.quote_meta', (a) => str('glob.quote_meta', a, 0).replace(/[*?\\[\]{}]/g, '\\$&'));
