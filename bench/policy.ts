/**
 * Decision latency of the default authz policy (policies/authz.rego, ~20 rules with partial sets
 * of deny reasons, glob and regex) through a prepared query.
 *
 *   npx vite-node bench/policy.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PolicyEngine } from '../src/policy/engine.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const text = readFileSync(root + 'policies/authz.rego', 'utf8');
const engine = new PolicyEngine([{ file: 'policies/authz.rego', text }], { moat: { exceptions: { privileged: ['registry.example.com/ops/*'] }, blocked_images: ['docker.io/evil/*'] } });

const digest = 'sha256:' + 'a'.repeat(64);
const inputs = [
  { subject: { user: 'alice', local: true }, method: 'POST', path: '/containers', facts: { image: { ref: 'docker.io/library/alpine:3', digest, signature: { verified: true }, scan: { critical: 0 } }, spec: { privileged: false, cap_add: ['NET_BIND_SERVICE'], mounts: [{ source: '/home/alice/src', destination: '/src' }], network_mode: 'private', user: '1000' } } },
  { subject: { user: 'bob', local: true }, method: 'POST', path: '/containers', facts: { image: { ref: 'docker.io/library/busybox:1', digest, signature: { verified: true }, scan: { critical: 1 } }, spec: { privileged: true, cap_add: ['SYS_ADMIN'], mounts: [{ source: '/etc', destination: '/e' }], network_mode: 'host', user: '0' } } },
];

const n = Number(process.argv[2] ?? 200000);
const query = engine.prepare('data.moat.authz.allow');
const full = engine.prepare('data.moat.authz.decision');
if (query.decide(inputs[0]) !== true || query.decide(inputs[1]) !== false) throw new Error('bench policy gives unexpected decisions');

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
  console.log(`${label.padEnd(34)} ${((n / total) * 1e9).toFixed(0).padStart(8)} decisions/s   p50 ${pct(0.5)} µs   p99 ${pct(0.99)} µs`);
}

console.log(`moat policy bench: ${n} evaluations per case, node ${process.version}`);
run('allow (prepared, decide)', (i) => query.decide(inputs[i & 1]));
run('allow (prepared, OPA result set)', (i) => query.eval(inputs[i & 1]));
run('decision object with deny reasons', (i) => full.decide(inputs[i & 1]));
