#!/usr/bin/env node
/**
 * Decision latency of the default authz policy (policies/authz.rego, ~20 rules with partial sets
 * of deny reasons, glob and regex) through a prepared query.
 *
 *   npm run build && node bench/policy.mjs [iterations] [--bundle] [--dist DIR]
 *   npx vite-node bench/policy.ts [iterations]
 *
 * `node bench/policy.mjs` measures what ships: the engine compiled by `npm run build` (tsc's
 * output in dist/, DIR with --dist); --bundle first bundles DIR/policy/engine.js with esbuild the
 * way scripts/bundle.mjs bundles the CLI (what `moat` runs; within noise of the unbundled modules).
 * bench/policy.ts runs the same bench on the TypeScript sources under vite-node, which adds
 * 30–40% of per-module import overhead that moat never pays: use it for quick comparisons only.
 *
 * Two input sets: "run" carries facts.run (what moat's hook sends for a container run: the
 * capability, mount and network rules all have work to do) and "idle" carries only the image facts
 * (the run rules find nothing; the input older versions of this bench used). Percentiles move with
 * the machine's load: compare runs made back to back. A third set, "captured", is a real input
 * moat's hook sent for a container run (bench/fixtures/run-input.json: the full OCI spec inside).
 */
import { readFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs the bench with an engine class (from dist/ or from the sources) and prints the table. */
export function benchPolicy(PolicyEngine, { iterations = 200000, build = 'dist' } = {}) {
  const text = readFileSync(root + 'policies/authz.rego', 'utf8');
  const engine = new PolicyEngine([{ file: 'policies/authz.rego', text }], {
    moat: {
      exceptions: { privileged: ['registry.example.com/ops/*'] },
      blocked_images: ['docker.io/evil/*'],
    },
  });

  const digest = 'sha256:' + 'a'.repeat(64);
  const image = (ref, critical) => ({ ref, digest, signature: { verified: true }, scan: { critical } });
  const runInputs = [
    {
      subject: { user: 'alice', local: true },
      method: 'POST',
      path: '/containers',
      facts: {
        image: image('docker.io/library/alpine:3', 0),
        run: {
          privileged: false,
          cap_add: ['NET_BIND_SERVICE'],
          mounts: [{ source: '/home/alice/src', destination: '/src' }],
          network_mode: 'private',
          user: '1000',
        },
      },
    },
    {
      subject: { user: 'bob', local: true },
      method: 'POST',
      path: '/containers',
      facts: {
        image: image('docker.io/library/busybox:1', 1),
        run: {
          privileged: true,
          cap_add: ['SYS_ADMIN'],
          mounts: [{ source: '/etc', destination: '/e' }],
          network_mode: 'host',
          user: '0',
        },
      },
    },
  ];
  const idleInputs = runInputs.map(({ facts: { image: img }, ...rest }) => ({
    ...rest,
    facts: { image: img },
  }));

  // What moat's hook sent for `moat run --rm --memory 64m --pids-limit 100 -v …:/docs:ro
  // moat/busybox sh -c true` (captured with a policy that denies with json.marshal(input)): the
  // request body, image facts, the run summary and the complete hardened OCI spec (seccomp included).
  const captured = JSON.parse(readFileSync(root + 'bench/fixtures/run-input.json', 'utf8'));
  const capturedDenied = structuredClone(captured);
  capturedDenied.facts.run.cap_add = ['SYS_ADMIN'];
  capturedDenied.facts.run.mounts.push({ source: '/etc', destination: '/e', readonly: false });
  const realInputs = [captured, capturedDenied];

  const n = iterations;
  const allow = engine.prepare('data.moat.authz.allow');
  const decision = engine.prepare('data.moat.authz.decision');
  if (allow.decide(runInputs[0]) !== true || allow.decide(runInputs[1]) !== false)
    throw new Error('bench policy gives unexpected decisions');
  if (allow.decide(realInputs[0]) !== true || allow.decide(realInputs[1]) !== false)
    throw new Error('bench policy gives unexpected decisions for the captured input');

  const run = (label, fn) => {
    for (let i = 0; i < Math.min(20000, n); i++) fn(i); // warm up the JIT
    const samples = new Float64Array(n);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const s = process.hrtime.bigint();
      fn(i);
      samples[i] = Number(process.hrtime.bigint() - s);
    }
    const total = Number(process.hrtime.bigint() - t0);
    samples.sort();
    const pct = (p) => (samples[Math.min(n - 1, Math.floor(n * p))] / 1000).toFixed(2);
    console.log(
      `${label.padEnd(40)} ${((n / total) * 1e9).toFixed(0).padStart(8)} decisions/s   p50 ${pct(0.5)} µs   p99 ${pct(0.99)} µs`,
    );
  };

  console.log(`moat policy bench (${build}): ${n} evaluations per case, node ${process.version}`);
  for (const [name, inputs] of [
    ['run', runInputs],
    ['idle', idleInputs],
    ['captured', realInputs],
  ]) {
    run(`${name}: allow (prepared, decide)`, (i) => allow.decide(inputs[i & 1]));
    run(`${name}: allow (OPA result set)`, (i) => allow.eval(inputs[i & 1]));
    run(`${name}: decision object with deny reasons`, (i) => decision.decide(inputs[i & 1]));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  const bundle = argv.includes('--bundle');
  const d = argv.indexOf('--dist');
  const dist = resolve(d >= 0 ? argv[d + 1] : root + 'dist');
  const [iterations = '200000'] = argv.filter((a, i) => !a.startsWith('--') && (d < 0 || i !== d + 1));
  let engineFile = join(dist, 'policy/engine.js');
  if (bundle) {
    const { build } = await import('esbuild');
    const out = mkdtempSync(join(tmpdir(), 'moat-policy-bench-'));
    await build({
      entryPoints: { engine: engineFile },
      outdir: out,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    symlinkSync(root + 'node_modules', join(out, 'node_modules')); // npm packages stay external
    engineFile = join(out, 'engine.js');
  }
  let mod;
  try {
    mod = await import(pathToFileURL(engineFile).href);
  } catch (e) {
    console.error(`bench/policy.mjs: cannot load ${engineFile} (run \`npm run build\` first): ${e.message}`);
    process.exit(1);
  }
  benchPolicy(mod.PolicyEngine, {
    iterations: Number(iterations),
    build: bundle ? `esbuild bundle of ${dist}` : dist,
  });
}
