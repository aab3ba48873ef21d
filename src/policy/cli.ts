/**
 * CLI-facing functions for `moat policy eval|test|check`. They return what to print and the exit
 * status; the commander wiring lives in src/cli. Output shapes follow `opa eval`, `opa test` and
 * `opa check` so existing scripts keep working.
 */
import { MoatError } from '../errors.js';
import type { Module, Rule } from './ast.js';
import { PolicyEngine, type ResultSet } from './engine.js';
import { RegoError, RegoErrors } from './errors.js';
import { compileGo } from './builtins/re2.js';
import type { Limits } from './limits.js';
import { loadPaths, parseDataFile } from './loader.js';
import { parseModule } from './parser.js';
import { jsonText, stringify } from './value.js';

export interface CliOutput {
  stdout: string;
  exitCode: number;
}

export interface PolicyEvalOptions {
  /** Files or directories with .rego modules and .json/.yaml data (`-d`). */
  data: string[];
  /** A JSON or YAML input file (`-i`). */
  input?: string;
  query: string;
  format: 'json' | 'pretty';
  v0Compatible: boolean;
  /** Builtin errors abort evaluation (`--strict-builtin-errors`). */
  strictBuiltinErrors?: boolean;
  /** Bounds on the evaluation (default none, like `opa eval`: the user's own command). */
  limits?: Limits | false;
  /** Only regular files of at most this many bytes are read (default: any file). */
  maxFileBytes?: number;
}

function errorsOf(e: unknown): RegoError[] {
  if (e instanceof RegoErrors) return e.errors;
  if (e instanceof RegoError) return [e];
  throw e;
}

function errorJSON(errs: RegoError[]): string {
  return JSON.stringify(
    {
      errors: errs.map((e) => ({
        message: e.message,
        code: e.code,
        ...(e.location
          ? { location: { file: e.location.file, row: e.location.row, col: e.location.col } }
          : {}),
      })),
    },
    null,
    2,
  );
}

function errorText(errs: RegoError[]): string {
  const body = errs.map((e) => e.format()).join('\n');
  return errs.length === 1 ? `1 error occurred: ${body}` : `${errs.length} errors occurred:\n${body}`;
}

export async function policyEval(opts: PolicyEvalOptions): Promise<CliOutput> {
  let rs: ResultSet;
  try {
    const { modules, data } = await loadPaths(opts.data, { maxFileBytes: opts.maxFileBytes });
    // unbounded by default, like `opa eval`: the user asked for this evaluation (decisions are
    // bounded, and so are evaluations the API service runs for a client)
    const engine = new PolicyEngine(modules, data, {
      v0Compatible: opts.v0Compatible,
      strictBuiltinErrors: opts.strictBuiltinErrors,
      limits: opts.limits ?? false,
    });
    const input = opts.input === undefined ? undefined : await parseDataFile(opts.input, opts.maxFileBytes);
    rs = engine.prepare(opts.query).eval(input, { bigints: true });
  } catch (e) {
    const errs = errorsOf(e);
    return { stdout: (opts.format === 'json' ? errorJSON(errs) : errorText(errs)) + '\n', exitCode: 1 };
  }
  if (opts.format === 'json')
    return { stdout: (rs.length ? jsonText({ result: rs }, 2) : '{}') + '\n', exitCode: 0 };
  if (!rs.length) return { stdout: 'undefined\n', exitCode: 0 };
  // pretty, like opa's: the value when there is one result without bindings and one expression (or
  // only boolean ones); otherwise one JSON object per result with the bindings and the expressions
  // whose values are not booleans (opa prints the same columns as a table).
  const first = rs[0];
  if (
    rs.length === 1 &&
    Object.keys(first.bindings).length === 0 &&
    (first.expressions.length === 1 || first.expressions.every((x) => typeof x.value === 'boolean'))
  ) {
    return { stdout: jsonText(first.expressions[0].value, 2) + '\n', exitCode: 0 };
  }
  const shown = first.expressions
    .map((x, i) => i)
    .filter((i) => typeof first.expressions[i].value !== 'boolean');
  const rows = rs.map((r) => ({
    ...r.bindings,
    ...Object.fromEntries(shown.map((i) => [r.expressions[i].text, r.expressions[i].value])),
  }));
  return { stdout: rows.map((r) => jsonText(r, 2)).join('\n') + '\n', exitCode: 0 };
}

// ---------------------------------------------------------------- test

export interface PolicyTestOptions {
  paths: string[];
  verbose: boolean;
  v0Compatible: boolean;
  format: 'json' | 'pretty';
  /** Print which rules the tests evaluated, per file (rule-level coverage). */
  coverage?: boolean;
  /** Only run tests whose name matches (`--run`). */
  run?: string;
}

interface TestResult {
  location: { file: string; row: number; col: number };
  package: string;
  name: string;
  fail?: boolean;
  error?: { code: string; message: string };
  skip?: boolean;
  duration: number;
  output?: string;
}

/** The `--run` filter: Go syntax, no budget (the user's own command). */
function runFilter(pattern: string): (name: string) => boolean {
  const free = { charge: () => {} };
  try {
    const re = compileGo('--run', pattern, free);
    return (name) => re.test(name, free);
  } catch (e) {
    throw new RegoError('POLICY_INVALID_ARGUMENT', (e as Error).message);
  }
}

function fmtDuration(ns: number): string {
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)}ms`;
  return `${(ns / 1e9).toFixed(2)}s`;
}

export async function policyTest(opts: PolicyTestOptions): Promise<CliOutput> {
  let engine: PolicyEngine;
  try {
    const { modules, data } = await loadPaths(opts.paths);
    // like `opa test`: each test may take 5 s (its --timeout default), however many steps
    engine = new PolicyEngine(modules, data, {
      v0Compatible: opts.v0Compatible,
      limits: { steps: Infinity, ms: 5000 },
    });
  } catch (e) {
    const errs = errorsOf(e);
    return { stdout: (opts.format === 'json' ? errorJSON(errs) : errorText(errs)) + '\n', exitCode: 1 };
  }
  // --run is a regular expression with Go's syntax, matched in linear time (as opa test's)
  const run = opts.run === undefined ? undefined : runFilter(opts.run);
  const tests: Rule[] = [];
  const seen = new Set<string>();
  for (const m of engine.compiler.modules) {
    for (const r of m.rules) {
      const name = r.path[r.path.length - 1];
      if (
        r.kind !== 'complete' ||
        !/^(test|todo_test)_/.test(name) ||
        r.path.length !== m.package.path.length + 1
      )
        continue;
      const key = r.path.join('.');
      if (seen.has(key)) continue;
      if (run && !run(`data.${key}`)) continue;
      seen.add(key);
      tests.push(r);
    }
  }
  const results: TestResult[] = [];
  const covered = opts.coverage ? new Set<Rule>() : undefined;
  for (const r of tests) {
    const name = r.path[r.path.length - 1];
    const pkg = r.path.slice(0, -1).join('.');
    const res: TestResult = {
      location: { file: r.loc.file, row: r.loc.row, col: r.loc.col },
      package: `data.${pkg}`,
      name,
      duration: 0,
    };
    if (name.startsWith('todo_')) {
      res.skip = true;
      results.push(res);
      continue;
    }
    const out: string[] = [];
    const t0 = process.hrtime.bigint();
    try {
      const q = engine.prepare('data' + r.path.map((p) => `[${JSON.stringify(p)}]`).join(''));
      const v = q.decide(undefined, {
        print: (msg, loc) => out.push(`${loc.file}:${loc.row}: ${msg}`),
        covered: covered && ((rule) => covered.add(rule)),
      });
      res.fail = v !== true;
    } catch (e) {
      const errs = errorsOf(e);
      res.error = { code: errs[0].code, message: errs[0].format() };
    }
    res.duration = Number(process.hrtime.bigint() - t0);
    if (out.length) res.output = out.join('\n') + '\n';
    results.push(res);
  }
  const pass = results.filter((r) => !r.fail && !r.error && !r.skip).length;
  const failed = results.filter((r) => r.fail).length;
  const errored = results.filter((r) => r.error).length;
  const skipped = results.filter((r) => r.skip).length;
  const exitCode = failed || errored ? 1 : 0;
  const report = covered && coverageReport(engine.compiler.modules, covered);
  // like opa test --coverage --format json, which prints the coverage report instead of the results
  if (opts.format === 'json') return { stdout: JSON.stringify(report ?? results, null, 2) + '\n', exitCode };

  const line = '-'.repeat(80);
  const lines: string[] = [];
  const status = (r: TestResult): string =>
    r.skip ? 'SKIPPED' : r.error ? 'ERROR' : r.fail ? 'FAIL' : 'PASS';
  const byFile = new Map<string, TestResult[]>();
  for (const r of results) byFile.set(r.location.file, [...(byFile.get(r.location.file) ?? []), r]);
  const bad = results.filter((r) => r.fail || r.error);
  if (bad.length && !opts.verbose) {
    lines.push('FAILURES', line);
    for (const r of bad) {
      lines.push(`${r.package}.${r.name}: ${status(r)} (${fmtDuration(r.duration)})`);
      if (r.error) lines.push('', '  ' + r.error.message.split('\n').join('\n  '));
      if (r.output) lines.push('', r.output.trimEnd().replace(/^/gm, '  '));
      lines.push('');
    }
    lines.push('SUMMARY', line);
  }
  for (const [file, rs] of byFile) {
    lines.push(`${file}:`);
    for (const r of rs) {
      lines.push(`${r.package}.${r.name}: ${status(r)} (${fmtDuration(r.duration)})`);
      if (opts.verbose && r.error) lines.push('  ' + r.error.message.split('\n').join('\n  '));
      if (opts.verbose && r.output) lines.push(r.output.trimEnd().replace(/^/gm, '  '));
    }
  }
  lines.push(line);
  const total = results.length;
  if (pass) lines.push(`PASS: ${pass}/${total}`);
  if (failed) lines.push(`FAIL: ${failed}/${total}`);
  if (errored) lines.push(`ERROR: ${errored}/${total}`);
  if (skipped) lines.push(`SKIPPED: ${skipped}/${total}`);
  if (!total) lines.push('no tests found');
  if (report) lines.push('', ...coverageText(report));
  return { stdout: lines.join('\n') + '\n', exitCode };
}

// ---------------------------------------------------------------- coverage

interface RowRange {
  start: { row: number };
  end: { row: number };
  /** The rule's name (a ref like `deny` or `a.b[x]`). */
  rule: string;
}
interface FileCoverage {
  covered: RowRange[];
  not_covered: RowRange[];
  covered_rules: number;
  not_covered_rules: number;
  coverage: number;
}
export interface CoverageReport {
  files: Record<string, FileCoverage>;
  covered_rules: number;
  not_covered_rules: number;
  coverage: number;
}

const pct = (a: number, b: number): number => (b ? Math.round((1000 * a) / (a + b)) / 10 : 100);

/**
 * Rule-level coverage: each rule body (every clause, else branch and default of a rule) counts as
 * covered when it held in at least one test. Test files (`*_test.rego`) are not reported.
 */
export function coverageReport(modules: Module[], covered: Set<Rule>): CoverageReport {
  const files: Record<string, FileCoverage> = {};
  let yes = 0;
  let no = 0;
  for (const m of modules) {
    if (/_test\.rego$/.test(m.source.file)) continue;
    const fc: FileCoverage = files[m.source.file] ?? {
      covered: [],
      not_covered: [],
      covered_rules: 0,
      not_covered_rules: 0,
      coverage: 0,
    };
    const text = m.source.text;
    for (const r of m.rules) {
      for (let x: Rule | undefined = r; x; x = x.else) {
        const name = text.slice(r.head.loc.start, r.head.loc.end).split(/\s|:=|=|\(|\bcontains\b|\bif\b/)[0];
        const range: RowRange = {
          start: { row: x.loc.row },
          end: { row: x.loc.row + (text.slice(x.loc.start, x.loc.end).match(/\n/g)?.length ?? 0) },
          rule: name,
        };
        if (covered.has(x)) fc.covered.push(range);
        else fc.not_covered.push(range);
      }
    }
    fc.covered_rules = fc.covered.length;
    fc.not_covered_rules = fc.not_covered.length;
    fc.coverage = pct(fc.covered_rules, fc.not_covered_rules);
    yes += fc.covered_rules;
    no += fc.not_covered_rules;
    files[m.source.file] = fc;
  }
  return { files, covered_rules: yes, not_covered_rules: no, coverage: pct(yes, no) };
}

function coverageText(r: CoverageReport): string[] {
  const lines = ['COVERAGE (rules whose body held in at least one test)', '-'.repeat(80)];
  const rows = (rs: RowRange[]): string =>
    rs
      .map((x) => `${x.start.row === x.end.row ? x.start.row : `${x.start.row}-${x.end.row}`} ${x.rule}`)
      .join(', ');
  for (const [file, f] of Object.entries(r.files)) {
    lines.push(`${file}: ${f.covered_rules}/${f.covered_rules + f.not_covered_rules} rules (${f.coverage}%)`);
    if (f.not_covered.length) lines.push(`  not covered: ${rows(f.not_covered)}`);
  }
  lines.push(`total: ${r.covered_rules}/${r.covered_rules + r.not_covered_rules} rules (${r.coverage}%)`);
  return lines;
}

// ---------------------------------------------------------------- check

export interface PolicyCheckOptions {
  paths: string[];
  v0Compatible: boolean;
  format: 'json' | 'pretty';
}

export async function policyCheck(opts: PolicyCheckOptions): Promise<CliOutput> {
  const errs: RegoError[] = [];
  try {
    const { modules } = await loadPaths(opts.paths, { testsOnly: true });
    const parsed = [];
    for (const m of modules) {
      try {
        parsed.push(parseModule(m.text, m.file, { regoVersion: opts.v0Compatible ? 0 : 1 }));
      } catch (e) {
        errs.push(...errorsOf(e));
      }
    }
    if (!errs.length) new PolicyEngine(parsed, {}, { v0Compatible: opts.v0Compatible });
  } catch (e) {
    if (e instanceof MoatError && !(e instanceof RegoError) && !(e instanceof RegoErrors)) throw e;
    errs.push(...errorsOf(e));
  }
  if (!errs.length) return { stdout: opts.format === 'json' ? '{}\n' : '', exitCode: 0 };
  return { stdout: (opts.format === 'json' ? errorJSON(errs) : errorText(errs)) + '\n', exitCode: 1 };
}

/** For callers that want the raw value text of a Rego value. */
export { stringify as formatValue };
