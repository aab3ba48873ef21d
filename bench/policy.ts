/**
 * Decision latency of the default authz policy (policies/authz.rego, ~20 rules with partial sets
 * of deny reasons, glob and regex) through a prepared query.
 *
 *   npx vite-node bench/policy.ts [iterations]
 *
 * Two input sets: "run" carries facts.run (what moat's hook sends for a container run: the
 * capability, mount and network rules all have work to do) and "idle" carries only the image facts
 * (the run rules find nothing; the input older versions of this bench used). Percentiles move with
 * the machine's load: compare runs made back to back.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PolicyEngine } from '../src/policy/engine.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const text = readFileSync(root + 'policies/authz.rego', 'utf8');
const engine = new PolicyEngine([{ file: 'policies/authz.rego', text }], {
  moat: { exceptions: { privileged: ['registry.example.com/ops/*'] }, blocked_images: ['docker.io/evil/*'] },
});

const digest = 'sha256:' + 'a'.repeat(64);
const image = (ref: string, critical: number) => ({
  ref,
  digest,
  signature: { verified: true },
  scan: { critical },
});
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

const n = Number(process.argv[2] ?? 200000);
const allow = engine.prepare('data.moat.authz.allow');
const decision = engine.prepare('data.moat.authz.decision');
if (allow.decide(runInputs[0]) !== true || allow.decide(runInputs[1]) !== false)
  throw new Error('bench policy gives unexpected decisions');

function run(label: string, fn: (i: number) => unknown): void {
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
  const pct = (p: number): string => (samples[Math.min(n - 1, Math.floor(n * p))] / 1000).toFixed(2);
  console.log(
    `${label.padEnd(40)} ${((n / total) * 1e9).toFixed(0).padStart(8)} decisions/s   p50 ${pct(0.5)} µs   p99 ${pct(0.99)} µs`,
  );
}

console.log(`moat policy bench: ${n} evaluations per case, node ${process.version}`);
for (const [name, inputs] of [
  ['run', runInputs],
  ['idle', idleInputs],
] as const) {
  run(`${name}: allow (prepared, decide)`, (i) => allow.decide(inputs[i & 1]));
  run(`${name}: allow (OPA result set)`, (i) => allow.eval(inputs[i & 1]));
  run(`${name}: decision object with deny reasons`, (i) => decision.decide(inputs[i & 1]));
}
