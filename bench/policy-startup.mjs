#!/usr/bin/env node
/**
 * Start-up cost of a policy decision in a fresh process, as moat's CLI pays it on every command:
 * import the engine, load + compile policies/, first decision. Each sample is a new `node`.
 *
 *   node bench/policy-startup.mjs [--bundle] [distDir=dist] [runs=15] [policyDir=policies]
 *
 * Needs compiled JS (npm run build, or `tsc -p tsconfig.build.json --outDir DIR`). Prints the median
 * and min of each phase. If DIR/policy/decide.js exists the fast API (loadPolicy) is timed too.
 * --bundle first bundles DIR/policy with esbuild the way scripts/bundle.mjs bundles the CLI
 * (splitting, npm packages external), which is what `moat` runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const bundle = argv.includes('--bundle');
const [distArg = 'dist', runsArg = '15', policyArg = 'policies'] = argv.filter((a) => a !== '--bundle');
let dist = resolve(distArg);
let fastDist = dist;
if (bundle) {
  // Each path bundled on its own, as the CLI bundle would reach it (entries sharing a bundle would
  // split code into more chunks than either path loads in moat).
  const { build } = await import('esbuild');
  const src = dist;
  const bundleOf = async (names) => {
    const out = mkdtempSync(join(tmpdir(), 'moat-policy-bundle-'));
    const entries = Object.fromEntries(
      names
        .filter((e) => existsSync(`${src}/policy/${e}.js`))
        .map((e) => [`policy/${e}`, `${src}/policy/${e}.js`]),
    );
    await build({
      entryPoints: entries,
      outdir: out,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    // npm packages stay external: resolve them from the project
    symlinkSync(resolve('node_modules'), join(out, 'node_modules'));
    return out;
  };
  dist = await bundleOf(['engine', 'loader']);
  if (existsSync(`${src}/policy/decide.js`)) fastDist = await bundleOf(['decide']);
}
const policies = resolve(policyArg);
const runs = Number(runsArg);

const input = {
  subject: { user: 'alice', uid: 1000, local: true, groups: [] },
  method: 'POST',
  path: '/containers',
  facts: {
    image: {
      ref: 'docker.io/library/alpine:3',
      digest: 'sha256:' + 'a'.repeat(64),
      signature: { verified: true },
      scan: { critical: 0 },
    },
    run: { privileged: false, cap_add: [], mounts: [], network_mode: 'none', user: '1000' },
  },
};

// What src/api/policy-hook.ts does today.
const classic = `
const t0 = performance.now();
const [{ PolicyEngine }, { loadPaths }] = await Promise.all([import(${JSON.stringify(pathToFileURL(dist + '/policy/engine.js').href)}), import(${JSON.stringify(pathToFileURL(dist + '/policy/loader.js').href)})]);
const t1 = performance.now();
const { modules, data } = await loadPaths([${JSON.stringify(policies)}]);
const engine = new PolicyEngine(modules.filter((m) => !/_test\\.rego$/.test(m.file)), data);
const q = engine.prepare('data.moat.authz.decision');
const t2 = performance.now();
const rs = q.eval(${JSON.stringify(input)});
const t3 = performance.now();
if (!rs[0]) throw new Error('no decision');
console.log(JSON.stringify([t1 - t0, t2 - t1, t3 - t2, t3 - t0]));
`;

// The fast API: src/policy/decide.ts
const fast = `
const t0 = performance.now();
const { loadPolicy } = await import(${JSON.stringify(pathToFileURL(fastDist + '/policy/decide.js').href)});
const t1 = performance.now();
const policy = await loadPolicy([${JSON.stringify(policies)}], { query: 'data.moat.authz.decision', cache: process.env.CACHE !== '0' });
const t2 = performance.now();
const v = policy.decide(${JSON.stringify(input)});
const t3 = performance.now();
if (!v) throw new Error('no decision');
console.log(JSON.stringify([t1 - t0, t2 - t1, t3 - t2, t3 - t0]));
`;

function measure(label, code, env = {}) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const col = (j) => samples.map((s) => s[j]).sort((a, b) => a - b);
  const med = (j) => col(j)[Math.floor(runs / 2)].toFixed(1);
  const min = (j) => col(j)[0].toFixed(1);
  console.log(
    `${label.padEnd(28)} import ${med(0).padStart(6)} ms (min ${min(0)})   load+compile ${med(1).padStart(6)} ms (min ${min(1)})   first decision ${med(2).padStart(5)} ms   total ${med(3).padStart(6)} ms (min ${min(3)})`,
  );
}

console.log(`policy start-up, ${runs} fresh processes each, node ${process.version}, ${dist}`);
measure('engine + loader (hook today)', classic);
if (existsSync(fastDist + '/policy/decide.js')) {
  measure('loadPolicy, no cache', fast, { CACHE: '0' });
  measure('loadPolicy, warm cache', fast, { CACHE: '1' });
}
