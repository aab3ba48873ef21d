#!/usr/bin/env node
// bench/network: a published port, host → container on 127.0.0.1 only, with moat's two user-mode
// stacks (slirp4netns, pasta) side by side with rootless podman on the same stack where this
// podman has it (podman 4.3: slirp4netns with its own port handler; pasta came with podman 4.4).
// Two figures per row, measured in one run, interleaved container by container:
//   - throughput: a bounded download (--mb MB, default 48: the file sits in the container's 64 MB
//     /tmp) from busybox httpd in the container to the host, every byte counted, MB/s, median of --runs;
//   - latency: HTTP GET round trips to busybox httpd (one connection each), median and p90 ms
//     over --requests requests.
// Then container to container on a user-defined network (moat network create; podman network
// create, netavark's bridge in its rootless network namespace), server and client on one network:
//   - throughput: the client downloads the --mb MB file ten times from the server's httpd
//     (busybox wget to /dev/null), timed inside the client with busybox `time`, MB/s;
//   - latency: 100 sequential GETs of a small page (a wget each: its start-up is in the figure, the
//     same for both), ms per GET.
//   node bench/network.mjs [--runs N] [--requests N] [--mb N] [--skip-published]
// Run it as the non-root user moat is meant for, on a quiet machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const moatBin = path.join(root, 'bin/moat.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 5);
const REQUESTS = arg('--requests', 200);
const MB = arg('--mb', 48);
const IMAGE = 'moat/busybox';
const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

/** Download the MB-megabyte file from the container's httpd; MB/s, the bytes checked. */
function download(port) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = get({ host: '127.0.0.1', port, path: '/big', agent: false }, (res) => {
      let n = 0;
      res.on('data', (b) => (n += b.length));
      res.on('end', () => {
        if (n !== MB << 20) return reject(new Error(`got ${n} bytes of ${MB << 20}`));
        resolve(MB / (Number(process.hrtime.bigint() - t) / 1e9));
      });
    });
    req.on('error', reject);
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
  });
}

function request(port) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t) / 1e6));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

async function until(port) {
  for (let i = 0; i < 100; i++) {
    try {
      return await request(port);
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing answers on 127.0.0.1:${port}`);
}

const SERVE = `mkdir -p /tmp/www && echo ok > /tmp/www/index.html && dd if=/dev/zero of=/tmp/www/big bs=1M count=${MB} 2>/dev/null && exec httpd -f -p 80 -h /tmp/www`;

/** One engine: start a container serving 80 (httpd, with the download file); its port and a stop. */
function starter(engine, network) {
  return async () => {
    const web = await freePort();
    const name = `bench-net-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const ports = ['-p', `127.0.0.1:${web}:80`];
    const argv =
      engine === 'moat'
        ? [
            process.execPath,
            moatBin,
            'run',
            '-d',
            '--name',
            name,
            '--network',
            network,
            ...ports,
            IMAGE,
            'sh',
            '-c',
            SERVE,
          ]
        : [
            'podman',
            'run',
            '-d',
            '--name',
            name,
            '--runtime',
            'runc',
            '--network',
            network,
            ...ports,
            'localhost/moat-bench-busybox',
            'sh',
            '-c',
            SERVE,
          ];
    execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
    const rm =
      engine === 'moat'
        ? [process.execPath, moatBin, 'rm', '-f', name]
        : ['podman', 'rm', '-f', '-t', '0', name];
    return { web, stop: () => spawnSync(rm[0], rm.slice(1), { stdio: 'ignore' }) };
  };
}

const contenders = [
  { label: 'moat --network slirp4netns', start: starter('moat', 'slirp4netns') },
  { label: 'moat --network pasta', start: starter('moat', 'pasta') },
];
if (have('podman')) {
  const tar = path.join(tmpdir(), `moat-default-rootfs-${process.getuid()}.tar`);
  if (!existsSync(tar))
    execFileSync(process.execPath, [
      path.join(root, 'scripts/build-default-image.mjs'),
      '--no-import',
      '--out',
      tar,
    ]);
  spawnSync('podman', ['import', tar, 'localhost/moat-bench-busybox'], { stdio: 'ignore' });
  contenders.push({
    label: 'podman --network slirp4netns:port_handler=slirp4netns',
    start: starter('podman', 'slirp4netns:port_handler=slirp4netns'),
  });
  const v = spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout;
  const [maj, min] = (/(\d+)\.(\d+)/.exec(v) ?? [0, 0, 0]).slice(1).map(Number);
  if (maj > 4 || (maj === 4 && min >= 4))
    contenders.push({ label: 'podman --network pasta', start: starter('podman', 'pasta') });
  else console.log(`(${v.trim()} has no pasta: that row is moat's only)`);
}

const results = new Map(contenders.map((c) => [c.label, { mbps: [], lat: [] }]));
for (let r = 0; r < (process.argv.includes('--skip-published') ? 0 : RUNS); r++) {
  for (const c of contenders) {
    const box = await c.start();
    try {
      await until(box.web);
      const res = results.get(c.label);
      res.mbps.push(await download(box.web));
      for (let i = 0; i < REQUESTS / RUNS; i++) res.lat.push(await request(box.web));
    } finally {
      box.stop();
    }
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

// ---- container to container on a user-defined network -----------------------------------------
const C2C_GETS = 100;
const C2C_DOWNLOADS = 10;
/** The client's script: wait for the server, then the two timed loops (busybox time: "real 0m 1.23s"). */
const clientScript = (ip) =>
  [
    'exec 2>&1',
    `for i in $(seq 100); do wget -qO /dev/null http://${ip}/ && break; sleep 0.1; done`,
    `echo BIG; time sh -c 'for i in $(seq ${C2C_DOWNLOADS}); do wget -qO /dev/null http://${ip}/big || exit 1; done'`,
    `echo SMALL; time sh -c 'for i in $(seq ${C2C_GETS}); do wget -qO /dev/null http://${ip}/ || exit 1; done'`,
  ].join('\n');

function realSeconds(out, marker) {
  const m = new RegExp(`${marker}\\n(?:[^\\n]*\\n)*?real\\s+(\\d+)m\\s*([\\d.]+)s`).exec(out);
  if (!m) throw new Error(`no timing after ${marker} in: ${out.slice(0, 400)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

const run = (argv) =>
  execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const moatCli = (...a) => run([process.execPath, moatBin, ...a]);

/** One engine's pair of containers on a fresh network: { mbps, msPerGet }, everything removed after. */
async function c2cOnce(engine) {
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const net = `bench-net-${tag}`;
  const srv = `bench-srv-${tag}`;
  const image = engine === 'moat' ? IMAGE : 'localhost/moat-bench-busybox';
  const cli = engine === 'moat' ? (...a) => moatCli(...a) : (...a) => run(['podman', ...a]);
  const extra = engine === 'moat' ? [] : ['--runtime', 'runc'];
  try {
    cli('network', 'create', net);
    cli('run', '-d', '--name', srv, ...extra, '--network', net, image, 'sh', '-c', SERVE);
    const ip =
      engine === 'moat'
        ? JSON.parse(moatCli('network', 'inspect', net))[0].Endpoints[0].IPv4Address.split('/')[0]
        : run([
            'podman',
            'inspect',
            '-f',
            `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`,
            srv,
          ]).trim();
    const out = cli('run', '--rm', ...extra, '--network', net, image, 'sh', '-c', clientScript(ip));
    return {
      mbps: (MB * C2C_DOWNLOADS) / realSeconds(out, 'BIG'),
      msPerGet: (realSeconds(out, 'SMALL') * 1000) / C2C_GETS,
    };
  } finally {
    spawnSync(
      engine === 'moat' ? process.execPath : 'podman',
      [...(engine === 'moat' ? [moatBin, 'rm', '-f', srv] : ['rm', '-f', '-t', '0', srv])],
      { stdio: 'ignore' },
    );
    spawnSync(
      engine === 'moat' ? process.execPath : 'podman',
      [...(engine === 'moat' ? [moatBin] : []), 'network', 'rm', net],
      { stdio: 'ignore' },
    );
  }
}

const c2cEngines = ['moat', ...(have('podman') ? ['podman'] : [])];
const c2c = new Map(c2cEngines.map((e) => [e, { mbps: [], ms: [] }]));
for (let r = 0; r < RUNS; r++)
  for (const e of c2cEngines) {
    const x = await c2cOnce(e);
    c2c.get(e).mbps.push(x.mbps);
    c2c.get(e).ms.push(x.msPerGet);
  }

const p90 = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.9)];
const ref = results.get('podman --network slirp4netns:port_handler=slirp4netns');
const rows = [
  ['stack', `download ${MB} MB (MB/s)`, 'GET median ms', 'GET p90 ms', '× podman slirp4netns (MB/s)'],
];
for (const [label, r] of results)
  if (r.mbps.length)
    rows.push([
      label,
      median(r.mbps).toFixed(0),
      median(r.lat).toFixed(2),
      p90(r.lat).toFixed(2),
      ref?.mbps.length ? (median(r.mbps) / median(ref.mbps)).toFixed(2) : 'n/a',
    ]);
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
if (results.values().next().value?.mbps.length) {
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
  console.log(`(${RUNS} containers per stack, interleaved; ${REQUESTS} requests per stack; 127.0.0.1 only)`);
}
console.log('');
const crows = [
  [
    'container to container, user network',
    `download ${MB} MB ×${C2C_DOWNLOADS} (MB/s)`,
    'ms per GET (wget each)',
    '× podman (MB/s)',
    '× podman (ms/GET)',
  ],
];
const pod = c2c.get('podman');
for (const [e, r] of c2c)
  crows.push([
    e === 'moat' ? 'moat network create (veth + bridge)' : 'podman network create (netavark)',
    median(r.mbps).toFixed(0),
    median(r.ms).toFixed(2),
    pod ? (median(r.mbps) / median(pod.mbps)).toFixed(2) : 'n/a',
    pod ? (median(r.ms) / median(pod.ms)).toFixed(2) : 'n/a',
  ]);
const cw = crows[0].map((_, i) => Math.max(...crows.map((r) => r[i].length)));
for (const r of crows) console.log(r.map((c, i) => c.padEnd(cw[i])).join('  '));
console.log(`(${RUNS} pairs per engine, interleaved; medians)`);
