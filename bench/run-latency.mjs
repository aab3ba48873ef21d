#!/usr/bin/env node
// bench/run-latency: how long `moat run --rm IMAGE true` takes next to raw runc on the same bundle
// and podman (when installed), and how long listing containers takes (`moat ps -a`, `podman ps -a`,
// `runc list`, each with the same number of exited containers of its own), measured side by side
// in one run. Prints a table of medians. Landlock's cost: `moat run --rm` beside the same run with
// `--security-opt landlock=off` (no moat-init, no createContainer hook), alternating which goes
// first, with the median of the per-pair differences (issue 17: goal under 2 ms).
//   node bench/run-latency.mjs [--runs N] [--landlock-only] [--baseline DIR]
// --landlock-only: just that pair (no runc, podman or ps rows); with --runc-only, only the runc
// pair (cheap enough for hundreds of pairs: the precision a 2 ms goal needs).
// --baseline DIR: another moat checkout, built (an older commit: `git worktree add DIR COMMIT`,
// then `npm run build` there), run side by side with this one in the same loop — `run --rm` and
// `ps -a` with its own store (XDG directories under a temporary directory) and its own build of
// the default image: before/after figures measured under the same load.
// Run it as the non-root user moat is meant for (the numbers for root differ).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const moat = path.join(root, 'bin/moat.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const LANDLOCK_ONLY = process.argv.includes('--landlock-only');
const RUNC_ONLY = process.argv.includes('--runc-only');
const baseArg = process.argv.indexOf('--baseline');
const BASE = baseArg > 0 ? path.resolve(process.argv[baseArg + 1]) : undefined;
const IMAGE = 'moat/busybox';

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', ...opts });
}
function have(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}
function timeIt(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
}
function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** A fresh store (XDG data, config and runtime directories under a new temporary directory). */
function freshStore(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const env = { ...process.env };
  for (const [k, sub] of [
    ['XDG_DATA_HOME', 'data'],
    ['XDG_CONFIG_HOME', 'config'],
    ['XDG_RUNTIME_DIR', 'run'],
  ]) {
    env[k] = path.join(dir, sub);
    mkdirSync(env[k], { mode: 0o700 });
  }
  return { dir, env };
}

// The baseline build (--baseline): its own store, its own default image, warmed like this one.
// This build then gets a fresh store too, so that neither lists or resolves more than the other
// (the user's own store may hold containers and images of their own).
let baseline;
let ownStore;
if (BASE) {
  const bin = path.join(BASE, 'bin/moat.js');
  if (!existsSync(path.join(BASE, 'dist'))) throw new Error(`${BASE} is not built: npm run build there`);
  const { dir, env } = freshStore('moat-bench-baseline-');
  execFileSync(process.execPath, [path.join(BASE, 'scripts/build-default-image.mjs')], {
    env,
    stdio: 'ignore',
  });
  run(process.execPath, [bin, 'run', '--rm', IMAGE, 'true'], env);
  const commit = spawnSync('git', ['-C', BASE, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  baseline = { bin, env, dir, label: commit.status === 0 ? commit.stdout.trim() : path.basename(BASE) };
  ownStore = freshStore('moat-bench-this-');
  Object.assign(process.env, ownStore.env);
}

// The default image, built locally (no registry).
if (!sh(process.execPath, [moat, 'images', '--format', 'json']).includes('moat/busybox')) {
  sh(process.execPath, [path.join(root, 'scripts/build-default-image.mjs')], { stdio: 'inherit' });
}
run(process.execPath, [moat, 'run', '--rm', IMAGE, 'true']); // unpack once, warm caches

// Raw runc on the same bundle: moat creates the container (spec + overlay dirs), then runc runs
// that bundle directly inside the same kind of user namespace, with the same overlay mount.
const id = sh(process.execPath, [moat, 'create', IMAGE, 'true']).trim();
const rec = JSON.parse(sh(process.execPath, [moat, 'inspect', id]))[0];
const data = process.env.XDG_DATA_HOME
  ? path.join(process.env.XDG_DATA_HOME, 'moat')
  : path.join(process.env.HOME, '.local/share/moat');
const dir = path.join(data, 'containers', id);
const info = JSON.parse(sh(process.execPath, [moat, 'info', '--format', 'json']));
const maps = info.userNamespaces;
const uid = process.getuid();
const mapArgs =
  uid === 0
    ? [
        `--map-users=${maps.uidMap[0].hostID},0,${maps.uidMap[0].size}`,
        `--map-groups=${maps.gidMap[0].hostID},0,${maps.gidMap[0].size}`,
      ]
    : [
        '--map-root-user',
        ...maps.uidMap
          .filter((m) => m.containerID > 0)
          .map((m) => `--map-users=${m.hostID},${m.containerID},${m.size}`),
        ...maps.gidMap
          .filter((m) => m.containerID > 0)
          .map((m) => `--map-groups=${m.hostID},${m.containerID},${m.size}`),
      ];
const runcRoot = mkdtempSync(path.join(tmpdir(), 'bench-runc-'));
const scriptFor = (d) =>
  `mount -t overlay overlay -o "lowerdir=${rec.lowerdir},upperdir=${d}/upper,workdir=${d}/work,userxattr" ${d}/bundle/rootfs && exec runc --root ${runcRoot} run --bundle ${d}/bundle "$1"`;
const script = scriptFor(dir);
let n = 0;
const raw = () =>
  run('unshare', ['--user', '--mount', ...mapArgs, 'sh', '-c', script, 'sh', `bench-${process.pid}-${n++}`]);

// Landlock's cost (issue 17), two ways, each in pairs alternating which goes first: `moat run --rm`
// with Landlock (the default) and with --security-opt landlock=off; and raw runc on two bundles
// moat made the same two ways (moat-init and its createContainer hook, or neither), which leaves
// out Node's start and moat's own work and so shows the difference with less noise.
const idOff = sh(process.execPath, [moat, 'create', '--security-opt', 'landlock=off', IMAGE, 'true']).trim();
const scriptOff = scriptFor(path.join(data, 'containers', idOff));
const rawOff = () =>
  run('unshare', [
    '--user',
    '--mount',
    ...mapArgs,
    'sh',
    '-c',
    scriptOff,
    'sh',
    `bench-${process.pid}-${n++}`,
  ]);
const moatOn = () => run(process.execPath, [moat, 'run', '--rm', IMAGE, 'true']);
const moatOff = () =>
  run(process.execPath, [moat, 'run', '--rm', '--security-opt', 'landlock=off', IMAGE, 'true']);
const ll = { moat: { on: [], off: [], diff: [] }, runc: { on: [], off: [], diff: [] } };
function pair(into, onFn, offFn, i) {
  const [a, b] = i % 2 ? [onFn, offFn] : [offFn, onFn];
  const ta = timeIt(a);
  const tb = timeIt(b);
  const [on, off] = i % 2 ? [ta, tb] : [tb, ta];
  into.on.push(on);
  into.off.push(off);
  into.diff.push(on - off);
}
function landlockPairs(i) {
  if (!RUNC_ONLY) pair(ll.moat, moatOn, moatOff, i);
  pair(ll.runc, raw, rawOff, i);
}
function landlockRows() {
  const f = (x) => x.toFixed(1).padStart(7);
  console.log(
    `landlock cost, ${ll.runc.on.length} pairs each, alternating, uid ${uid}, ${new Date().toISOString()}`,
  );
  for (const [name, xs] of [
    ...(RUNC_ONLY
      ? []
      : [
          ['moat run --rm (Landlock, the default)', ll.moat.on],
          ['moat run --rm --security-opt landlock=off', ll.moat.off],
          ['  difference per pair', ll.moat.diff],
        ]),
    ['runc run, bundle with moat-init (Landlock)', ll.runc.on],
    ['runc run, bundle with landlock=off', ll.runc.off],
    ['  difference per pair', ll.runc.diff],
  ]) {
    const s = stats(xs);
    console.log(`${name.padEnd(44)} median ${f(s.median)} ms  p90 ${f(s.p90)} ms  min ${f(s.min)} ms`);
  }
  for (const [k, v] of Object.entries(ll).filter(([, v]) => v.on.length))
    console.log(
      `Landlock cost (${k}): ${(stats(v.on).median - stats(v.off).median).toFixed(2)} ms difference of medians, ${stats(v.diff).median.toFixed(2)} ms median of pair differences (goal < 2 ms)`,
    );
}
if (LANDLOCK_ONLY) {
  for (let i = 0; i < RUNS; i++) landlockPairs(i);
  landlockRows();
  sh(process.execPath, [moat, 'rm', id, idOff]);
  rmSync(runcRoot, { recursive: true, force: true });
  writeFileSync(path.join(tmpdir(), 'moat-bench-run-latency-landlock.json'), JSON.stringify(ll, null, 1));
  process.exit(0);
}

const rows = [];
const series = { moat: [], runc: [] };
let podman = null;
if (have('podman')) {
  const tar = path.join(tmpdir(), `moat-default-rootfs-${uid}.tar`);
  if (!existsSync(tar))
    sh(process.execPath, [path.join(root, 'scripts/build-default-image.mjs'), '--no-import', '--out', tar]);
  spawnSync('podman', ['import', tar, 'localhost/moat-bench-busybox'], { stdio: 'ignore' });
  podman = () =>
    run('podman', [
      'run',
      '--rm',
      '--network',
      'none',
      '--runtime',
      'runc',
      'localhost/moat-bench-busybox',
      '/bin/true',
    ]);
  podman();
  series.podman = [];
}
if (baseline) series.baseline = [];
// Interleave the contenders so that load changes hit all of them alike.
for (let i = 0; i < RUNS; i++) {
  series.moat.push(timeIt(() => run(process.execPath, [moat, 'run', '--rm', IMAGE, 'true'])));
  if (baseline)
    series.baseline.push(
      timeIt(() => run(process.execPath, [baseline.bin, 'run', '--rm', IMAGE, 'true'], baseline.env)),
    );
  landlockPairs(i);
  series.runc.push(timeIt(raw));
  if (podman) series.podman.push(timeIt(podman));
}

// Listing: PS_N exited containers each, then `ps -a`. The bundles made for raw runc are not
// needed any more: removed first, so that moat lists as many containers as the others.
sh(process.execPath, [moat, 'rm', id, idOff]);
const PS_N = 10;
const psNames = [];
for (let i = 0; i < PS_N; i++) {
  const name = `bench-ps-${process.pid}-${i}`;
  psNames.push(name);
  run(process.execPath, [moat, 'run', '--name', name, IMAGE, 'true']);
  if (baseline) run(process.execPath, [baseline.bin, 'run', '--name', name, IMAGE, 'true'], baseline.env);
  if (podman)
    run('podman', [
      'run',
      '--name',
      name,
      '--network',
      'none',
      '--runtime',
      'runc',
      'localhost/moat-bench-busybox',
      '/bin/true',
    ]);
}
const ps = { moat: [], runc: [], podman: [], baseline: [] };
for (let i = 0; i < RUNS; i++) {
  ps.moat.push(timeIt(() => run(process.execPath, [moat, 'ps', '-a'])));
  if (baseline)
    ps.baseline.push(timeIt(() => run(process.execPath, [baseline.bin, 'ps', '-a'], baseline.env)));
  ps.runc.push(timeIt(() => run('runc', ['--root', runcRoot, 'list'])));
  if (podman) ps.podman.push(timeIt(() => run('podman', ['ps', '-a'])));
}
for (const name of psNames) {
  run(process.execPath, [moat, 'rm', name]);
  if (podman) run('podman', ['rm', name]);
}
rmSync(runcRoot, { recursive: true, force: true });
if (baseline) {
  // Its store holds files of subordinate IDs (the unpacked image): removed inside a user namespace
  // with this user's maps, as container root's files are.
  spawnSync(process.execPath, [baseline.bin, 'system', 'prune', '-a', '-f'], {
    env: baseline.env,
    stdio: 'ignore',
  });
  spawnSync('unshare', ['--user', ...mapArgs, 'rm', '-rf', baseline.dir], { stdio: 'ignore' });
  rmSync(baseline.dir, { recursive: true, force: true });
  spawnSync(process.execPath, [moat, 'system', 'prune', '-a', '-f'], { stdio: 'ignore' });
  spawnSync('unshare', ['--user', ...mapArgs, 'rm', '-rf', ownStore.dir], { stdio: 'ignore' });
  rmSync(ownStore.dir, { recursive: true, force: true });
}

const node = [];
for (let i = 0; i < RUNS; i++) node.push(timeIt(() => run(process.execPath, ['-e', '0'])));
const m = stats(series.moat).median;
const p = podman ? stats(series.podman).median : undefined;
const line = (name, xs, ref = series) => {
  const s = stats(xs);
  rows.push([
    name,
    s.median.toFixed(1),
    s.p90.toFixed(1),
    s.min.toFixed(1),
    (s.median / stats(ref.runc).median).toFixed(2),
    ref.podman?.length ? (s.median / stats(ref.podman).median).toFixed(2) : 'n/a',
  ]);
};
line('moat run --rm', series.moat);
if (baseline) line(`moat run --rm (baseline ${baseline.label})`, series.baseline);
line('moat run --rm (Landlock, in pairs)', ll.moat.on);
line('moat run --rm --security-opt landlock=off', ll.moat.off);
line('runc run (same bundle)', series.runc);
if (podman) line('podman run --rm --network none --runtime runc', series.podman);
line('node -e 0 (Node start alone)', node);
line(`moat ps -a (${PS_N} containers)`, ps.moat, ps);
if (baseline) line(`moat ps -a (baseline ${baseline.label}, ${PS_N} containers)`, ps.baseline, ps);
line('runc list', ps.runc, ps);
if (podman) line(`podman ps -a (${PS_N} containers)`, ps.podman, ps);
const head = ['command', 'median ms', 'p90 ms', 'min ms', '× runc', '× podman'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
console.log(`run latency, ${RUNS} runs each, interleaved, uid ${uid}, ${new Date().toISOString()}`);
for (const r of [head, ...rows])
  console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
if (p) console.log(`moat run / podman run = ${(m / p).toFixed(2)} (goal ≤ 0.60)`);
if (baseline)
  console.log(
    `this build / baseline ${baseline.label}: run ${(m / stats(series.baseline).median).toFixed(2)}, ps -a ${(stats(ps.moat).median / stats(ps.baseline).median).toFixed(2)} (issue 12: ≤ 1.00)`,
  );
landlockRows();
if (podman)
  console.log(`moat ps / podman ps = ${(stats(ps.moat).median / stats(ps.podman).median).toFixed(2)}`);
writeFileSync(
  path.join(tmpdir(), 'moat-bench-run-latency.json'),
  JSON.stringify({ series, ps, landlock: ll, runs: RUNS }, null, 1),
);
