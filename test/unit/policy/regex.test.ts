import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { PolicyEngine, RegoError } from '../../../src/policy/index.js';
import { compileGlob } from '../../../src/policy/builtins/regex.js';
import { Dfa } from '../../../src/policy/builtins/re-dfa.js';
import { jsRegExp } from '../../../src/policy/builtins/re-js.js';
import { estimateSize } from '../../../src/policy/builtins/re2.js';
import { parseSubset } from '../../../src/policy/builtins/re-subset.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The value of `x` in `x := <expr>`, or the evaluation's error code and message. */
function value(expr: string, opts: { strict?: boolean; limits?: false } = {}): unknown {
  const e = new PolicyEngine([], {}, { strictBuiltinErrors: opts.strict, limits: opts.limits });
  try {
    return e.eval(`x := ${expr}`)[0]?.bindings.x;
  } catch (err) {
    if (err instanceof RegoError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

/** No evaluation around: a context that charges nothing. */
const unbudgeted = { charge: () => {} };

describe('regular expressions have Go syntax (RE2), as in OPA', () => {
  it('refuses back references and lookaround with Go’s errors', () => {
    expect(value('regex.match(`(a)\\1`, "aa")', { strict: true })).toBe(
      'eval_builtin_error: regex.match: error parsing regexp: invalid escape sequence: `\\1`',
    );
    expect(value('regex.match(`a(?=b)`, "ab")', { strict: true })).toBe(
      'eval_builtin_error: regex.match: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    );
    // Go 1.22 and later (what OPA 1.x is built with) read `(?<` as a named group
    expect(value('regex.match(`(?<!a)b`, "b")', { strict: true })).toBe(
      'eval_builtin_error: regex.match: error parsing regexp: invalid named capture: `(?<!a)b`',
    );
    expect(value('regex.find_n(`x\\`, "x", -1)', { strict: true })).toBe(
      'eval_builtin_error: regex.find_n: error parsing regexp: trailing backslash at end of expression: ``',
    );
    // not strict: the expression is undefined, as in OPA
    expect(value('regex.match(`(a)\\1`, "aa")')).toBeUndefined();
    expect(value('[regex.is_valid(`(a)\\1`), regex.is_valid(`a(?=b)`), regex.is_valid(`(?P<n>a)`)]')).toEqual(
      [false, false, true],
    );
  });

  it('takes Go’s named groups, flags and classes', () => {
    expect(value('regex.find_all_string_submatch_n(`(?P<k>\\w+)=(?<v>\\d+)`, "a=1 b=x c=3", -1)')).toEqual([
      ['a=1', 'a', '1'],
      ['c=3', 'c', '3'],
    ]);
    expect(
      value(
        '[regex.match(`(?i)^ABC$`, "abc"), regex.match(`^\\pL+$`, "été"), regex.match(`^[[:alpha:]]+\\z`, "ab"), regex.match(`(?s)a.b`, "a\\nb"), regex.match(`a.b`, "a\\nb")]',
      ),
    ).toEqual([true, true, true, true, false]);
    // Go's \s is ASCII: a no-break space is not one (JavaScript's \s takes it)
    expect(value('regex.match(`^\\s$`, "\u00a0")')).toBe(false);
    // ungreedy flag
    expect(value('regex.find_n(`(?U)a+`, "aaa", -1)')).toEqual(['a', 'a', 'a']);
  });

  it('finds, splits and replaces as Go’s regexp package does', () => {
    // empty matches right after a match are skipped
    expect(value('regex.find_n(`a*`, "baaab", -1)')).toEqual(['', 'aaa', '']);
    expect(value('regex.find_n(`[0-9]+`, "a1b22c333", 2)')).toEqual(['1', '22']);
    // a split never includes groups (JavaScript's does)
    expect(value('regex.split(`(,)`, "a,b,")')).toEqual(['a', 'b', '']);
    expect(value('regex.split(`x*`, "")')).toEqual(['']);
    // `$1x` names the group "1x" (none: empty); `${1}x` is group 1 then x; `$$` is a dollar
    expect(value('regex.replace("abc", `(b)`, "$1x")')).toBe('ac');
    expect(value('regex.replace("abc", `(b)`, "${1}x")')).toBe('abxc');
    expect(value('regex.replace("a-b", `(?P<d>-)`, "[${d}$$]")')).toBe('a[-$]b');
    // `^` matches once, at the start of the text
    expect(value('regex.replace("aaa", `^a`, "b")')).toBe('baa');
  });

  it('matches templates with nested delimiters, as OPA does', () => {
    expect(value('regex.template_match("urn:foo:{[a-z]{2}}", "urn:foo:ab", "{", "}")')).toBe(true);
    expect(value('regex.template_match("urn:foo:{[a-z]{2}}", "urn:foo:abc", "{", "}")')).toBe(false);
    expect(value('regex.template_match("urn:{x", "urn:x", "{", "}")', { strict: true })).toBe(
      'eval_builtin_error: regex.template_match: unbalanced braces in "urn:{x"',
    );
  });

  it('runs a pattern and input that backtracking would take for ever in linear time', () => {
    // In a child process with a time bound: JavaScript's RegExp never returns on these inputs
    // (2^40 ways to split the digits; n^9 ways to place the stars), so the old code fails here by
    // the timeout rather than hanging the test run.
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-redos-'));
    try {
      const script = path.join(dir, 'redos.ts');
      const query =
        'x := [regex.match(`^(\\d+\\.?)+$`, input.digits), regex.find_n(`^(\\d+\\.?)+$`, input.digits, -1), ' +
        'glob.match("*a*a*a*a*a*a*a*a*a*b", [], input.as), regex.match(`(?i)^(a|aa)+$`, input.asb)]';
      const input = { digits: '1'.repeat(40) + 'x', as: 'a'.repeat(200), asb: 'a'.repeat(60) + 'b' };
      writeFileSync(
        script,
        [
          `import { PolicyEngine } from ${JSON.stringify(path.join(root, 'src/policy/index.ts'))};`,
          `const rs = new PolicyEngine([]).eval(${JSON.stringify(query)}, ${JSON.stringify(input)});`,
          'console.log(JSON.stringify(rs[0].bindings.x));',
        ].join('\n'),
      );
      const r = spawnSync(
        process.execPath,
        [path.join(root, 'node_modules/vite-node/vite-node.mjs'), script],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 120_000,
          killSignal: 'SIGKILL', // a process busy in a match runs no SIGTERM handler
        },
      );
      expect(r.signal, 'killed at the timeout: the matches did not finish').toBeNull();
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout.trim())).toEqual([false, [], false, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('charges regex work to the decision’s budget before doing it', () => {
    const big = 'a'.repeat(2_000_000);
    // 2M characters through a ~2000-instruction program
    const e = new PolicyEngine([], {});
    const err = (() => {
      try {
        e.eval('x := regex.match(`(?i)^[a-z]{1000}b`, input.s)', { s: big });
      } catch (x) {
        return x as RegoError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('eval_cancel_error');
    // a pattern that compiles to ~200k instructions is charged before it is compiled
    const long = '[a-z]{1000}'.repeat(100) + '(?i)';
    expect(value(`regex.match(\`${long}\`, "a")`)).toMatch(
      /^eval_cancel_error: evaluation exceeded its budget/,
    );
  });

  it('estimates program sizes generously (the compile charge)', () => {
    for (const p of [
      'abc',
      '(?i)abc',
      '[a-z]{1000}',
      '(?:[a-z]{10}){10}',
      'a{2,5}',
      '\\pL{30}',
      '(?:a?){500}',
      '\\Qa.b\\E{3}',
    ]) {
      const actual = (
        RE2JS.compile(p).re2() as unknown as { numberOfInstructions(): number }
      ).numberOfInstructions();
      expect(estimateSize(p), p).toBeGreaterThanOrEqual(actual);
    }
  });
});

/** A small deterministic random source. */
function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

/** What Go's regexp sees of a JavaScript string: lone surrogates as U+FFFD (OPA decodes JSON to UTF-8). */
const asGo = (s: string): string =>
  [...s].map((ch) => (ch.length === 1 && ch >= '\ud800' && ch <= '\udfff' ? '\ufffd' : ch)).join('');

describe('the subset engines answer as Go does (re2js as the reference)', () => {
  it('the DFA, on random patterns and inputs', () => {
    const rnd = rng(42);
    const atoms = [
      'a',
      'b',
      '.',
      '\\d',
      '\\w',
      '\\s',
      '[ab]',
      '[^a]',
      '[a-c]',
      '[]a]',
      '[a-]',
      '\\.',
      '-',
      'é',
      '😀',
      '\\n',
    ];
    const gen = (d: number): string => {
      const k = rnd(10);
      if (d > 3 || k < 4) return atoms[rnd(atoms.length)];
      if (k < 6) return gen(d + 1) + gen(d + 1);
      if (k < 7) return '(' + gen(d + 1) + '|' + gen(d + 1) + ')';
      if (k < 8) return '(?:' + gen(d + 1) + ')' + ['*', '+', '?', '{2}', '{1,3}', '{0,}', '*?'][rnd(7)];
      return gen(d + 1) + ['*', '+', '?', '{2}', '{1,3}', '{2,}', '+?'][rnd(7)];
    };
    const chars = ['a', 'b', 'c', '1', '_', ' ', '\n', '.', '-', 'é', '😀', ']', '\ud800', '\ufffd'];
    let checked = 0;
    for (let t = 0; t < 3000; t++) {
      let p = gen(0);
      if (rnd(3) === 0) p = '^' + p;
      if (rnd(3) === 0) p += '$';
      const sub = parseSubset(p);
      let re: RE2JS | undefined;
      try {
        re = RE2JS.compile(p);
      } catch {
        expect(sub, `the subset took an invalid pattern ${p}`).toBeUndefined();
        continue;
      }
      const dfa = sub && Dfa.from(sub);
      if (!dfa) continue;
      // 8 inputs per pattern: the first ones follow the NFA, the rest the DFA built from it
      for (let k = 0; k < 8; k++) {
        let s = '';
        for (let i = rnd(8); i > 0; i--) s += chars[rnd(chars.length)];
        expect(dfa.test(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`).toBe(re.test(asGo(s)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15000);
  });

  it('V8’s RegExp, for the shapes it runs in linear time', () => {
    const rnd = rng(5);
    const atoms = [
      'a',
      'b',
      '.',
      '\\d',
      '\\w',
      '\\s',
      '[ab]',
      '[^a]',
      '[a-c]',
      '\\.',
      '-',
      'é',
      '😀',
      '[^/]',
      '/',
      '\ufffd',
    ];
    const qs = ['', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '{2,}', '*?'];
    const chars = ['a', 'b', 'c', '1', '_', ' ', '\n', '.', '-', 'é', '😀', '/', '\ud800', '\ufffd'];
    let patterns = 0;
    for (let t = 0; t < 3000; t++) {
      let p = '^';
      for (let k = rnd(5) + 1; k > 0; k--) p += atoms[rnd(atoms.length)] + qs[rnd(qs.length)];
      if (rnd(2)) p += '$';
      const sub = parseSubset(p);
      const js = sub && jsRegExp(sub);
      if (!js) continue;
      patterns++;
      const re = RE2JS.compile(p);
      for (let k = 0; k < 8; k++) {
        let s = '';
        for (let i = rnd(8); i > 0; i--) s += chars[rnd(chars.length)];
        expect(js.test(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`).toBe(re.test(asGo(s)));
      }
    }
    expect(patterns).toBeGreaterThan(500);
  });

  it('gives V8 only patterns without two ways to match the same text', () => {
    const js = (p: string) => jsRegExp(parseSubset(p)!) !== undefined;
    for (const p of [
      '^sha256:[a-f0-9]{64}$',
      '^registry\\.example\\.com/ops/[^/]*$',
      '^[^.]*\\.example\\.com$',
      '^a*b?c+$',
      '^[a-z]+',
    ])
      expect(js(p), p).toBe(true);
    // overlapping repetitions, alternation, groups, no `^`: the DFA
    for (const p of ['^a*a*$', '^a*b*a$', '^\\d+\\.?\\d+$', '^(\\d+\\.?)+$', '^(a|aa)+$', 'a*b', '^(ab)*$'])
      expect(js(p), p).toBe(false);
    // and V8 takes 100,000 characters that fail at the end in one pass
    const rs = new PolicyEngine([]).eval('x := regex.match(`^[a-z]*[0-9]*$`, input.s)', {
      s: 'a'.repeat(100_000) + '!',
    });
    expect(rs[0].bindings.x).toBe(false);
  });

  it('leaves to re2js what is not in the subset', () => {
    for (const p of [
      '(?i)a',
      '\\bx',
      'a{,3}',
      '(?P<n>a)',
      '\\pL',
      '^a|b',
      'x{2}{3}',
      'a**',
      '[[:alpha:]]',
      '(a{2}){3}',
    ])
      expect(parseSubset(p), p).toBeUndefined();
    for (const p of ['^sha256:[a-f0-9]{64}$', '^registry\\.example\\.com/', '^(a|b)$', '[]a-]x', '\\$$'])
      expect(parseSubset(p), p).toBeDefined();
  });
});

describe('glob.match', () => {
  /** The glob → JavaScript RegExp translation moat used before, as the reference on short inputs. */
  function reference(pattern: string, delims: string[]): RegExp {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const escClass = (c: string) => c.replace(/[\]\\^-]/g, '\\$&');
    const notDelim = delims.length ? '[^' + delims.map(escClass).join('') + ']' : '[\\s\\S]';
    let i = 0;
    const parse = (inAlt: boolean): string => {
      let out = '';
      while (i < pattern.length) {
        const c = pattern[i];
        if (inAlt && (c === ',' || c === '}')) return out;
        i++;
        if (c === '*') {
          if (pattern[i] === '*') {
            i++;
            out += '[\\s\\S]*';
          } else out += notDelim + '*';
        } else if (c === '?') out += notDelim;
        else if (c === '[') {
          let neg = false;
          if (pattern[i] === '!') {
            neg = true;
            i++;
          }
          let cls = '';
          while (i < pattern.length && pattern[i] !== ']') {
            const ch = pattern[i++];
            if (pattern[i] === '-' && pattern[i + 1] !== ']' && i + 1 < pattern.length) {
              i++;
              cls += escClass(ch) + '-' + escClass(pattern[i++]);
            } else cls += escClass(ch);
          }
          i++;
          out += neg ? '[^' + cls + delims.map(escClass).join('') + ']' : '[' + cls + ']';
        } else if (c === '{') {
          const alts: string[] = [];
          for (;;) {
            alts.push(parse(true));
            if (pattern[i++] !== ',') break;
          }
          out += '(?:' + alts.join('|') + ')';
        } else out += esc(c);
      }
      return out;
    };
    return new RegExp('^' + parse(false) + '$', 'su');
  }

  it('matches as before on random globs (now in linear time)', () => {
    const rnd = rng(7);
    const parts = ['a', 'b', '.', '/', '*', '**', '?', '[ab]', '[!a]', '[a-c]', '{a,b}', '{a*,b.}', 'é'];
    const chars = ['a', 'b', 'c', '.', '/', 'é', '-'];
    let checked = 0;
    for (let t = 0; t < 1500; t++) {
      let p = '';
      for (let i = rnd(5) + 1; i > 0; i--) p += parts[rnd(parts.length)];
      const delims = [[], ['.'], ['/'], ['.', '/']][rnd(4)];
      const dfa = compileGlob(p, delims, unbudgeted);
      const ref = reference(p, delims);
      for (let k = 0; k < 10; k++) {
        let s = '';
        for (let i = rnd(7); i > 0; i--) s += chars[rnd(chars.length)];
        expect(dfa.test(s), `${p} ${JSON.stringify(delims)} on ${JSON.stringify(s)}`).toBe(ref.test(s));
        checked++;
      }
    }
    expect(checked).toBe(15000);
  });
});
