#!/usr/bin/env node
// bench/verify: how long image trust takes, side by side in one run, against Debian's
// docker-registry on 127.0.0.1 (no network):
//   - cold: verifying one signed image (its manifest, the .sig manifest and the payload fetched,
//     the signature checked) in-process, next to the same three HTTP requests made bare — the
//     difference is what verification costs beyond the registry round trips (goal: < 30 ms);
//   - recorded: what a run pays to read the recorded decision (the trust policy loaded, the
//     record read; goal: < 1 ms), in-process;
//   - the CLI: `moat verify REF` next to `skopeo inspect --raw docker://REF` (one manifest fetch).
//   node bench/verify.mjs [--runs N]      (build first: npm run build; run as the non-root user)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const moat = path.join(root, 'bin/moat.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;
const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
for (const t of ['docker-registry', 'skopeo']) if (!have(t)) throw new Error(`${t} is required`);

const base = mkdtempSync(path.join(tmpdir(), 'moat-bench-verify-'));
const env = {
  ...process.env,
  XDG_CONFIG_HOME: path.join(base, 'config'),
  XDG_CACHE_HOME: path.join(base, 'cache'),
};
mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });
const sh = (args, e = env) => execFileSync(process.execPath, [moat, ...args], { env: e, encoding: 'utf8' });

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const host = `127.0.0.1:${port}`;
writeFileSync(
  path.join(base, 'registry.yml'),
  `version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: ${base}/registry } }\nhttp: { addr: "${host}" }\n`,
);
const registry = spawn('docker-registry', ['serve', path.join(base, 'registry.yml')], { stdio: 'ignore' });
process.on('exit', () => {
  registry.kill();
  rmSync(base, { recursive: true, force: true });
});
for (let i = 0; i < 200; i++) {
  const ok = await new Promise((r) =>
    net
      .connect(port, '127.0.0.1')
      .on('connect', function () {
        this.destroy();
        r(true);
      })
      .on('error', () => r(false)),
  );
  if (ok) break;
  await new Promise((r) => setTimeout(r, 50));
}

// The image: the default one, pushed and signed.
if (!sh(['images', '--format', 'json']).includes('moat/busybox'))
  execFileSync(process.execPath, [path.join(root, 'scripts/build-default-image.mjs')], {
    stdio: 'inherit',
    env,
  });
const ref = `${host}/bench/app:1`;
sh(['push', 'moat/busybox', ref]);
sh(['key', 'generate', '--output-key-prefix', path.join(base, 'k')]);
sh(['sign', '--key', path.join(base, 'k.key'), ref]);
const trust = path.join(base, 'trust.json');
writeFileSync(
  trust,
  JSON.stringify({ default: [{ type: 'sigstoreSigned', keyPath: path.join(base, 'k.pub') }] }),
);
process.env.MOAT_TRUST = trust;

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] };
};
const dist = (m) => import(pathToFileURL(path.join(root, 'dist', m)).href);
const { loadTrustPolicy } = await dist('trust/policy/load.js');
const { verifyRemote } = await dist('trust/image.js');
const { recordedTrust } = await dist('trust/facts.js');
const { TrustRecords } = await dist('trust/record.js');
const { withDefaults } = await dist('image/registry/config.js');
const cfg = withDefaults({ allowLoopbackHttp: true }, env);

// Cold: a fresh verification each time (no cache of manifests or signatures exists).
const policy = loadTrustPolicy();
const first = await verifyRemote(policy, ref, { cfg });
if (!first.accepted) throw new Error(`the signed image does not verify: ${JSON.stringify(first.error)}`);
const cold = [];
const bare = [];
const accept =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const sigTag = `sha256-${first.digest.slice(7)}.sig`;
for (let i = 0; i < RUNS; i++) {
  let t = performance.now();
  const r = await verifyRemote(policy, ref, { cfg });
  cold.push(performance.now() - t);
  if (!r.accepted) throw new Error('verification failed during the bench');
  // The same requests, bare: /v2/, the manifest, the .sig manifest, the payload blob.
  t = performance.now();
  await (await fetch(`http://${host}/v2/`)).arrayBuffer();
  await (await fetch(`http://${host}/v2/bench/app/manifests/1`, { headers: { accept } })).arrayBuffer();
  const sig = await (
    await fetch(`http://${host}/v2/bench/app/manifests/${sigTag}`, { headers: { accept } })
  ).json();
  await (await fetch(`http://${host}/v2/bench/app/blobs/${sig.layers[0].digest}`)).arrayBuffer();
  bare.push(performance.now() - t);
}

// Recorded: what the facts of a run read.
const records = new TrustRecords(path.join(base, 'records'));
await records.put(first.digest, first);
const recorded = [];
for (let i = 0; i < RUNS * 10; i++) {
  const t = performance.now();
  const f = recordedTrust(loadTrustPolicy(), records, first.digest, [ref]);
  recorded.push(performance.now() - t);
  if (!f.accepted) throw new Error('the record does not accept');
}

// The CLI, next to skopeo.
const cli = [];
const skopeo = [];
for (let i = 0; i < Math.max(5, Math.floor(RUNS / 3)); i++) {
  let t = performance.now();
  sh(['verify', '--trust', trust, ref]);
  cli.push(performance.now() - t);
  t = performance.now();
  execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { stdio: 'ignore' });
  skopeo.push(performance.now() - t);
}

const c = stats(cold);
const b = stats(bare);
const rows = [
  ['cold verification, in-process (ms)', c.median, c.p90],
  ['  the same 4 requests, bare fetch (ms)', b.median, b.p90],
  ['  verification beyond the round trips (ms)', c.median - b.median, null],
  ['recorded decision read by a run (ms)', stats(recorded).median, stats(recorded).p90],
  ['moat verify REF (CLI, ms)', stats(cli).median, stats(cli).p90],
  ['skopeo inspect --raw (ms)', stats(skopeo).median, stats(skopeo).p90],
];
console.log(`bench/verify (${RUNS} runs; medians and p90)`);
console.log('| measure | median | p90 |\n|---|---|---|');
for (const [n, m, p] of rows) console.log(`| ${n} | ${m.toFixed(2)} | ${p === null ? '' : p.toFixed(2)} |`);
console.log(`| moat verify / skopeo inspect | ${(stats(cli).median / stats(skopeo).median).toFixed(2)}x | |`);
process.exit(0);
