#!/usr/bin/env node
/* global process, console, URL */
/**
 * Regular expressions for Rego's regex.* and glob.*: which engine (see docs/policy.md).
 *
 *   npm run build && node bench/regex.mjs [iterations]
 *
 * Engines: JavaScript's RegExp (backtracking: what moat used before), moat's subset DFA
 * (dist/policy/builtins/re-dfa.js: the patterns policies use on the decision path), re2js (a
 * JavaScript port of Go's regexp, which moat loads for everything else), and re2-wasm (Google's
 * C++ RE2 compiled to wasm) when installed beside it (`npm install --no-save re2-wasm`; moat does
 * not depend on it).
 *
 * Rows: import time of the engine's module (in a fresh process); compile time of a fresh pattern;
 * match time on patterns typical of policies (compiled once); `^(\d+\.?)+$` against n digits and
 * an `x` (the pattern and label that froze the service: exponential for a backtracking engine,
 * linear for the others); and how many distinct patterns compile before the engine gives out.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const N = Number(process.argv[2] ?? 100000);
const root = fileURLToPath(new URL('..', import.meta.url));

const TYPICAL = [
  ['^sha256:[a-f0-9]{64}$', 'sha256:' + 'a'.repeat(64)],
  ['^registry\\.example\\.com/ops/[^/]+$', 'registry.example.com/ops/tool'],
  ['^(docker\\.io/)?library/', 'docker.io/library/alpine:3'],
  ['^[a-z0-9]+(?:[._-][a-z0-9]+)*$', 'my-service_01'],
  ['^/(proc|sys|dev|etc)(/|$)', '/home/alice/src'],
  ['^[^/]*$', 'registry.example.com/ops/tool'], // the glob `*` with delimiter /
].map(([p, s]) => [p, JSON.parse(JSON.stringify(s))]); // flat strings, as JSON input gives

async function engines() {
  const out = [{ name: 'RegExp (backtracking)', module: null, compile: (p) => new RegExp(p, 'u') }];
  const dist = `${root}dist/policy/builtins/`;
  if (existsSync(`${dist}re2.js`)) {
    // what regex.match does: the subset DFA, else re2js (loaded then); no budget here
    const { compileGo } = await import(pathToFileURL(`${dist}re2.js`).href);
    const free = { charge: () => {} };
    out.push({
      name: 'moat (subset DFA)',
      module: `${dist}re2.js`,
      compile: (p) => {
        const re = compileGo('bench', p, free);
        return { test: (s) => re.test(s, free) };
      },
    });
  } else console.log('moat: not built (npm run build), skipped');
  try {
    const { RE2JS } = await import('re2js');
    out.push({ name: 're2js', module: 're2js', compile: (p) => RE2JS.compile(p) });
  } catch {
    console.log('re2js: not installed, skipped');
  }
  try {
    // CommonJS, so NODE_PATH finds it where it was installed for the comparison
    const { RE2 } = createRequire(import.meta.url)('re2-wasm');
    out.push({ name: 're2-wasm', module: 're2-wasm', cjs: true, compile: (p) => new RE2(p, 'u') });
  } catch {
    console.log('re2-wasm: not installed, skipped (npm install --no-save re2-wasm)');
  }
  return out;
}

function timeUs(fn, n) {
  for (let i = 0; i < Math.min(n, 1000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

/** Milliseconds to import a module in a fresh node process (median of 3). */
function importMs(module, cjs = false) {
  if (!module) return 0;
  const spec = module.startsWith('/') ? pathToFileURL(module).href : module;
  const load = cjs
    ? `(await import('node:module')).createRequire(process.cwd() + '/')(${JSON.stringify(spec)})`
    : `await import(${JSON.stringify(spec)})`;
  const code = `const t = performance.now(); ${load}; console.log(performance.now() - t);`;
  const runs = [0, 1, 2].map((_) =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' }),
    ),
  );
  return runs.sort((a, b) => a - b)[1];
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

console.log(`regex engines, node ${process.version}; times per operation`);
for (const e of await engines()) {
  // a fresh pattern each time (none cached)
  const compile = timeUs((i) => e.compile(`^item-${i}-[a-z0-9]{8}(\\.[a-z]+)*$`), 2000);
  const compiled = TYPICAL.map(([p, s]) => [e.compile(p), s]);
  let hits = 0;
  const match = timeUs((i) => {
    const [re, s] = compiled[i % compiled.length];
    if (re.test(s)) hits++;
  }, N);
  const patho = e.compile('^(\\d+\\.?)+$');
  const rows = [];
  for (const n of [20, 24, 1000, 100000]) {
    if (e.name.startsWith('RegExp') && n > 24) {
      rows.push(`n=${n}: (not run)`);
      continue;
    }
    const s = '1'.repeat(n) + 'x';
    const t0 = process.hrtime.bigint();
    patho.test(s);
    rows.push(`n=${n}: ${fmt(Number(process.hrtime.bigint() - t0) / 1e6)} ms`);
  }
  let distinct = 0;
  try {
    for (; distinct < 20000; distinct++) e.compile(`^other-${distinct}-[a-z]{8}$`);
  } catch (err) {
    rows.push(`gave out after ${distinct} distinct patterns: ${String(err.message).slice(0, 60)}`);
  }
  console.log(
    `${e.name.padEnd(22)} import ${fmt(importMs(e.module, e.cjs))} ms  compile ${fmt(compile)} µs  match ${fmt(match)} µs (${hits > 0 ? 'ok' : '?'})\n` +
      `${''.padEnd(22)} ^(\\d+\\.?)+$ ${rows.join(', ')}${distinct === 20000 ? ', 20000 distinct patterns compiled' : ''}`,
  );
}
