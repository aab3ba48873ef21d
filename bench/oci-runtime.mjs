#!/usr/bin/env node
/**
 * moat-runtime's cost per container, as the non-root user:
 *   1. `podman run --rm --network none IMAGE true` with `--runtime runc` and with
 *      `--runtime <abs>/bin/moat-runtime`, interleaved so load changes hit all alike: deciding
 *      in-process (the Node program loads the policy), the Node program asking a running
 *      `moat system service`, and the fast path (native/moat-oci-front: no Node process; the
 *      service reads the bundle, decides and writes runc's spec);
 *   2. where moat's time goes, without podman: `node -e 0` (Node's start), `moat-runtime state`
 *      against `runc state` on a running container, and `moat-runtime create` on a bundle with a
 *      stand-in runtime (/bin/true), with MOAT_TIMING's marks (parse, spec read, policy modules,
 *      decision, bundle written); for the fast path, the native front alone (no shell), and the
 *      service's part alone (one POST /v1/oci/create-bundle from this process: read, decide,
 *      write, answer).
 *
 *   npm run build && node bench/oci-runtime.mjs [--runs 15] [--fast-only]
 *
 * The image is moat's default busybox root imported into podman as localhost/moat-bench-busybox
 * (as bench/run-latency.mjs does).
 */
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNTIME = path.join(root, 'bin/moat-runtime');
const IMAGE = 'localhost/moat-bench-busybox';
const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 15;
// Only runc against the fast path, in pairs (which goes first alternates), for enough pairs to see
// a difference of a few ms in podman's noise; prints the mean difference with its 95% interval.
const FAST_ONLY = process.argv.includes('--fast-only');
const uid = process.getuid();

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r;
}
function timeIt(f) {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const sorted = (a) => [...a].sort((x, y) => x - y);
const median = (a) => sorted(a)[Math.floor(a.length / 2)];
const p90 = (a) => sorted(a)[Math.min(a.length - 1, Math.floor(a.length * 0.9))];
const min = (a) => sorted(a)[0];
const row = (name, a) =>
  `| ${name.padEnd(44)} | ${median(a).toFixed(1).padStart(8)} | ${p90(a).toFixed(1).padStart(8)} | ${min(a).toFixed(1).padStart(8)} |`;
const HEAD = `| ${'what'.padEnd(44)} | ${'median'.padStart(8)} | ${'p90'.padStart(8)} | ${'min'.padStart(8)} |\n|${'-'.repeat(46)}|${'-'.repeat(10)}|${'-'.repeat(10)}|${'-'.repeat(10)}|`;

if (!existsSync(path.join(root, 'dist/oci/main.js'))) throw new Error('build first: npm run build');

// --- 1. podman run, interleaved -------------------------------------------------------------
const tar = path.join(tmpdir(), `moat-default-rootfs-${uid}.tar`);
if (!existsSync(tar))
  sh(process.execPath, [path.join(root, 'scripts/build-default-image.mjs'), '--no-import', '--out', tar]);
// Imported once: a second import would leave the first as a dangling image.
if (sh('podman', ['image', 'exists', IMAGE], { allowFail: true }).status !== 0)
  sh('podman', ['import', tar, IMAGE], { stdio: 'ignore' });
// podman hands the runtime only containers.conf's conmon_env_vars: one file per moat-runtime
// setting (in-process decisions, or a running `moat system service`). The Node program's way to
// the service: the same setting with its slashes escaped (valid JSON the native front does not
// parse, so it hands the create to the Node program).
const work = mkdtempSync(path.join(tmpdir(), 'moat-bench-oci-work-'));
const svcSock = path.join(work, 'moat.sock');
writeFileSync(path.join(work, 'inproc.json'), '{}');
writeFileSync(path.join(work, 'service.json'), JSON.stringify({ service: svcSock }).replace(/\//g, '\\/'));
writeFileSync(path.join(work, 'fast.json'), JSON.stringify({ service: svcSock }));
const conf = (name) => {
  const f = path.join(work, `${name}.conf`);
  const vars = [
    `PATH=${process.env.PATH}`,
    `MOAT_POLICY=${path.join(root, 'policies/authz.rego')}`,
    `MOAT_OCI_CONFIG=${path.join(work, `${name}.json`)}`,
  ];
  writeFileSync(f, `[engine]\nconmon_env_vars = ${JSON.stringify(vars)}\n`);
  return { ...process.env, CONTAINERS_CONF: f };
};
const envs = { inproc: conf('inproc'), service: conf('service'), fast: conf('fast') };
const svcData = mkdtempSync(path.join(tmpdir(), 'moat-bench-oci-data-'));
const service = spawn(
  process.execPath,
  [path.join(root, 'bin/moat.js'), 'system', 'service', '--socket', svcSock],
  {
    env: { ...process.env, XDG_DATA_HOME: svcData, MOAT_POLICY: path.join(root, 'policies/authz.rego') },
    stdio: 'ignore',
  },
);
for (let i = 0; i < 100 && !existsSync(svcSock); i++) sh('sleep', ['0.1']);
const podman = (runtime, e = process.env) =>
  sh('podman', ['run', '--rm', '--network', 'none', '--runtime', runtime, IMAGE, 'true'], { env: e });
const cleanup = () => {
  service.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
  spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', 'rm', '-rf', svcData]);
};
podman('runc');
podman(RUNTIME, envs.fast);
if (FAST_ONLY) {
  const runc = [];
  const fast = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2) fast.push(timeIt(() => podman(RUNTIME, envs.fast)));
    runc.push(timeIt(() => podman('runc')));
    if (!(i % 2)) fast.push(timeIt(() => podman(RUNTIME, envs.fast)));
  }
  cleanup();
  const d = fast.map((m, i) => m - runc[i]);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1));
  const half = (1.96 * sd) / Math.sqrt(d.length);
  console.log(`moat-runtime's fast path against runc, ${RUNS} pairs, node ${process.version}\n`);
  console.log(HEAD);
  console.log(row('podman run --rm true, --runtime runc', runc));
  console.log(row('  the fast path (native front, the service)', fast));
  console.log(row('  added per container (pairwise)', d));
  console.log(`\nadded per container: mean ${mean.toFixed(1)} ms, 95% interval ±${half.toFixed(1)} ms`);
  process.exit(0);
}
podman(RUNTIME, envs.inproc);
podman(RUNTIME, envs.service);
const series = { runc: [], moat: [], svc: [], fast: [] };
for (let i = 0; i < RUNS; i++) {
  series.runc.push(timeIt(() => podman('runc')));
  series.moat.push(timeIt(() => podman(RUNTIME, envs.inproc)));
  series.svc.push(timeIt(() => podman(RUNTIME, envs.service)));
  series.fast.push(timeIt(() => podman(RUNTIME, envs.fast)));
}

// --- 2. where the time goes ------------------------------------------------------------------
const node = [];
const stateRunc = [];
const stateMoat = [];
const stateNode = [];
const createMoat = [];
const cname = `moat-bench-oci-${process.pid}`;
sh('podman', ['run', '-d', '--name', cname, '--network', 'none', '--runtime', 'runc', IMAGE, 'sleep', '600']);
const id = sh('podman', ['inspect', '-f', '{{.ID}}', cname]).stdout.trim();
// podman runs runc with its default root for a rootless user: $XDG_RUNTIME_DIR/runc.
const runcRoot = path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${uid}`, 'runc');
// A bundle like podman's: runc's rootless template with its own network namespace and sysfs.
const bdir = mkdtempSync(path.join(tmpdir(), 'moat-bench-oci-'));
sh('runc', ['spec', '--rootless', '--bundle', bdir]);
mkdirSync(path.join(bdir, 'rootfs'));
const spec = JSON.parse(readFileSync(path.join(bdir, 'config.json'), 'utf8'));
spec.linux.namespaces.push({ type: 'network' });
spec.mounts = spec.mounts.map((m) =>
  m.destination === '/sys'
    ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }
    : m,
);
writeFileSync(path.join(bdir, 'config.json'), JSON.stringify(spec));
const env = { ...process.env, MOAT_POLICY: path.join(root, 'policies/authz.rego') };
const createSvc = [];
const moatCreate = (extraEnv = {}) =>
  sh(RUNTIME, ['--runtime-binary', '/bin/true', 'create', '--bundle', bdir, 'bench1'], {
    env: { ...env, ...extraEnv },
  });
// The fast path: bin/moat-runtime (shell, then the native front) with MOAT_RUNTIME=/bin/true
// (--runtime-binary is the Node program's flag); the native front alone; the service alone.
const createFast = [];
const frontFast = [];
const serviceFast = [];
const trueRuns = [];
const FRONT = path.join(root, 'dist/native/moat-oci-front');
const fastEnv = { ...env, MOAT_RUNTIME: '/bin/true', MOAT_OCI_CONFIG: path.join(work, 'fast.json') };
const fastCreate = () => sh(RUNTIME, ['create', '--bundle', bdir, 'bench1'], { env: fastEnv });
const frontCreate = () =>
  sh(FRONT, [`${RUNTIME}.js`, 'create', '--bundle', bdir, 'bench1'], { env: fastEnv });
const askBundle = () =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({ id: 'bench1', bundle: bdir });
    const t = process.hrtime.bigint();
    const req = request(
      {
        socketPath: svcSock,
        method: 'POST',
        path: '/v1/oci/create-bundle',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(process.hrtime.bigint() - t) / 1e6)
            : reject(new Error(`create-bundle answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
if (!existsSync(FRONT)) throw new Error('dist/native/moat-oci-front is not built (gcc)');
moatCreate();
fastCreate();
for (let i = 0; i < RUNS; i++) {
  trueRuns.push(timeIt(() => sh('/bin/true', [])));
  createFast.push(timeIt(() => fastCreate()));
  frontFast.push(timeIt(() => frontCreate()));
  serviceFast.push(await askBundle());
  node.push(timeIt(() => sh(process.execPath, ['-e', '0'])));
  stateRunc.push(timeIt(() => sh('runc', ['--root', runcRoot, 'state', id], { stdio: 'ignore' })));
  stateMoat.push(timeIt(() => sh(RUNTIME, ['--root', runcRoot, 'state', id], { stdio: 'ignore' })));
  stateNode.push(
    timeIt(() =>
      sh(process.execPath, [`${RUNTIME}.js`, '--root', runcRoot, 'state', id], { stdio: 'ignore' }),
    ),
  );
  createMoat.push(timeIt(() => moatCreate()));
  createSvc.push(timeIt(() => moatCreate({ MOAT_OCI_CONFIG: path.join(work, 'service.json') })));
}
// MOAT_TIMING marks of a few creates: milliseconds since the process started.
const marksOf = (extraEnv) => {
  const marks = new Map();
  for (let i = 0; i < Math.min(RUNS, 7); i++) {
    const r = moatCreate({ MOAT_TIMING: '1', ...extraEnv });
    // `moat timing: WALL ms (cpu CPU ms) NAME` (util/timing.ts): the wall time, by name.
    for (const m of r.stderr.matchAll(/moat timing: ([\d.]+) ms (?:\(cpu [\d.]+ ms\) )?(.+)/g)) {
      if (!marks.has(m[2])) marks.set(m[2], []);
      marks.get(m[2]).push(Number(m[1]));
    }
  }
  return marks;
};
const marks = marksOf({});
const marksSvc = marksOf({ MOAT_OCI_CONFIG: path.join(work, 'service.json') });
sh('podman', ['rm', '-f', '-t', '0', cname], { stdio: 'ignore' });
rmSync(bdir, { recursive: true, force: true });
cleanup();

console.log(`moat-runtime, ${RUNS} runs each, node ${process.version}\n`);
console.log(HEAD);
console.log(row('podman run --rm true, --runtime runc', series.runc));
console.log(row('podman run --rm true, --runtime moat-runtime', series.moat));
console.log(
  row(
    '  added per container (pairwise)',
    series.moat.map((m, i) => m - series.runc[i]),
  ),
);
console.log(row('  the same, deciding in a moat service', series.svc));
console.log(
  row(
    '  added per container (pairwise)',
    series.svc.map((m, i) => m - series.runc[i]),
  ),
);
console.log(row('  the fast path (native front, the service)', series.fast));
console.log(
  row(
    '  added per container (pairwise)',
    series.fast.map((m, i) => m - series.runc[i]),
  ),
);
console.log(row('node -e 0 (Node start)', node));
console.log(row('runc state', stateRunc));
console.log(row('moat-runtime state (shell front to runc)', stateMoat));
console.log(row('moat-runtime.js state (Node, pass-through)', stateNode));
console.log(row('moat-runtime create, runtime /bin/true', createMoat));
console.log(row('  the same, deciding in a moat service', createSvc));
console.log(row('  the fast path (bin/moat-runtime, runtime /bin/true)', createFast));
console.log(row('    the native front alone (no shell)', frontFast));
console.log(row('    the service alone (POST create-bundle)', serviceFast));
console.log(row('/bin/true (a process, for scale)', trueRuns));
console.log('\nmoat-runtime create, ms after process start (MOAT_TIMING):\n');
console.log(HEAD);
for (const [name, a] of marks) console.log(row(name, a));
console.log('\nthe same, deciding in a moat service:\n');
console.log(HEAD);
for (const [name, a] of marksSvc) console.log(row(name, a));
