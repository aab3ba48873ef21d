#!/usr/bin/env node
// bench/pull: pulling a realistic image from a local registry, side by side in one run:
//   moat pull            `moat pull REF`: download + verify, with the image's root unpacked while
//                        the layer downloads (committed after the digest matched); the bench
//                        checks the root is there, ready for `moat run`
//   moat pull --no-unpack  download + verify only
//   gunzip | tar x       `gzip -dc LAYER | tar -x`, no download: the cost of gunzip and writing the
//                        files, which the issue names as the target for pull + unpack
//   zlib gunzip | tar x  the same with zlib's inflate in Node instead of gzip's own (~2× faster)
//   skopeo copy          to an OCI layout directory: download + verify only (the floor)
//   skopeo + umoci       the above, then `umoci unpack --rootless`
//   podman pull          into a fresh --root (when podman is installed)
// Each from a fresh store, interleaved, median of N runs; ratios in one table.
//
//   sudo node bench/pull.mjs --build-rootfs            # once, as root: debootstrap minbase → tar
//   node bench/pull.mjs [--rootfs FILE.tar] [--runs N] # as the non-root user moat is meant for
//
// The image is the rootfs tar imported as one gzip layer (moat import), pushed by moat to
// Debian's docker-registry on 127.0.0.1. Default rootfs: /var/cache/moat-bench/minbase-bookworm.tar.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const moat = path.join(root, 'bin/moat.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const RUNS = Number(arg('--runs', '5'));
const CACHE = '/var/cache/moat-bench';
const ROOTFS = arg('--rootfs', path.join(CACHE, 'minbase-bookworm.tar'));

const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
function timed(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (process.argv.includes('--build-rootfs')) {
  if (process.getuid() !== 0) throw new Error('--build-rootfs needs root (debootstrap)');
  const dir = path.join(CACHE, 'minbase');
  mkdirSync(CACHE, { recursive: true });
  if (!existsSync(path.join(dir, 'usr/bin')))
    run('debootstrap', ['--variant=minbase', 'bookworm', dir, 'http://deb.debian.org/debian']);
  // Device nodes are not image content (the runtime mounts /dev); Docker images carry none.
  run('tar', ['-C', dir, '--numeric-owner', '--exclude=./dev/*', '-cf', ROOTFS, '.']);
  execFileSync('chmod', ['0644', ROOTFS]);
  console.log(`wrote ${ROOTFS} (${(statSync(ROOTFS).size / 1e6).toFixed(0)} MB)`);
  process.exit(0);
}
if (process.getuid() === 0)
  throw new Error('run the bench as the non-root user moat is meant for (moat refuses root)');
if (!existsSync(ROOTFS))
  throw new Error(
    `no rootfs tar at ${ROOTFS}: run \`sudo node bench/pull.mjs --build-rootfs\` or pass --rootfs FILE`,
  );
for (const t of ['docker-registry', 'skopeo']) if (!have(t)) throw new Error(`${t} is required`);

const base = mkdtempSync(path.join(tmpdir(), 'moat-bench-pull-'));
/** Files owned by subordinate IDs are removed from inside a user namespace. */
const rmTree = (p) => {
  if (spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', 'rm', '-rf', p]).status !== 0)
    rmSync(p, { recursive: true, force: true });
};
const worldEnv = (name) => {
  const w = path.join(base, name);
  const env = {
    ...process.env,
    XDG_DATA_HOME: path.join(w, 'data'),
    XDG_RUNTIME_DIR: path.join(w, 'run'),
    XDG_CONFIG_HOME: path.join(w, 'config'),
  };
  for (const d of [env.XDG_DATA_HOME, env.XDG_RUNTIME_DIR]) mkdirSync(d, { recursive: true, mode: 0o700 });
  return { dir: w, env };
};

/** podman refuses a runroot path longer than 50 characters: a short one per world. */
const pruns = new Map();
const prun = (w) => {
  if (!pruns.has(w.dir)) pruns.set(w.dir, mkdtempSync(path.join(tmpdir(), 'pr-')));
  return pruns.get(w.dir);
};

// The registry.
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
process.on('exit', () => registry.kill());
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

// The image: the rootfs as one gzip layer, pushed by moat.
const REF = `${host}/bench/minbase:1`;
const setup = worldEnv('setup');
run(process.execPath, [moat, 'import', ROOTFS, REF], setup.env);
run(process.execPath, [moat, 'push', '-q', REF], setup.env);
const layer = JSON.parse(run(process.execPath, [moat, 'image', 'inspect', REF], setup.env))[0].layers[0];
const layerHex = layer.digest.replace(/^sha256:/, '');
const layerBlob = path.join(
  base,
  'registry/docker/registry/v2/blobs/sha256',
  layerHex.slice(0, 2),
  layerHex,
  'data',
);
rmTree(setup.dir);

// ext4 without a journal (this VM's root filesystem) skips inodes deleted in the last
// dirty_expire_centisecs when it allocates new ones, scanning past each of them: creating files
// right after a large tree was deleted costs ~200 µs a file instead of ~8 µs, whoever creates
// them. So the bench deletes nothing until the end, and first lets the setup's deletions age.
const settle = Math.ceil(Number(readFileSync('/proc/sys/vm/dirty_expire_centisecs', 'utf8')) / 100) + 1;
console.error(`waiting ${settle} s for recently deleted inodes to age (see the comment in bench/pull.mjs)`);
await new Promise((r) => setTimeout(r, settle * 1000));
const worlds = [];

/** The pull must have left an unpacked root behind (storage/rootfs/<id> + its marker). */
const unpackedRoots = (w) => {
  const dir = path.join(w.env.XDG_DATA_HOME, 'moat', 'storage', 'rootfs');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).length : 0;
};
const methods = {
  'moat pull (download + unpack)': (w) => {
    run(process.execPath, [moat, 'pull', '-q', REF], w.env);
    if (unpackedRoots(w) !== 1) throw new Error('moat pull left no unpacked root');
  },
  'moat pull --no-unpack': (w) => run(process.execPath, [moat, 'pull', '-q', '--no-unpack', REF], w.env),
  'gunzip | tar x (no download)': (w) => {
    mkdirSync(`${w.dir}/tarx`);
    run('sh', ['-c', 'gzip -dc "$1" | tar -x -C "$2"', 'sh', layerBlob, `${w.dir}/tarx`]);
  },
  // The same with zlib's inflate (what Node and moat use; ~2× faster than gzip's own here).
  'zlib gunzip | tar x (no download)': (w) => {
    mkdirSync(`${w.dir}/tarx`);
    const gunzip = `require('fs').createReadStream(process.argv[1]).pipe(require('zlib').createGunzip({ chunkSize: 1 << 20 })).pipe(process.stdout)`;
    run('sh', [
      '-c',
      '"$1" -e "$2" "$3" | tar -x -C "$4"',
      'sh',
      process.execPath,
      gunzip,
      layerBlob,
      `${w.dir}/tarx`,
    ]);
  },
  'skopeo copy (floor)': (w) =>
    run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${REF}`, `oci:${w.dir}/oci:1`]),
};
if (have('umoci')) {
  methods['skopeo + umoci unpack'] = (w) => {
    run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${REF}`, `oci:${w.dir}/oci:1`]);
    run('umoci', ['unpack', '--rootless', '--image', `${w.dir}/oci:1`, `${w.dir}/bundle`]);
  };
}
let podmanDriver;
if (have('podman')) {
  methods['podman pull'] = (w) =>
    run(
      'podman',
      ['--root', `${w.dir}/proot`, '--runroot', prun(w), 'pull', '-q', '--tls-verify=false', REF],
      w.env,
    );
}

const times = Object.fromEntries(Object.keys(methods).map((k) => [k, []]));
console.error(
  `image ${REF}: one gzip layer of ${(layer.size / 1e6).toFixed(1)} MB (rootfs tar ${(statSync(ROOTFS).size / 1e6).toFixed(0)} MB); ${RUNS} runs each, interleaved`,
);
for (let i = 0; i < RUNS; i++) {
  for (const [name, fn] of Object.entries(methods)) {
    const w = worldEnv(`${name.replace(/\W+/g, '-')}-${i}`);
    // Each method starts with the previous one's data written out, not being flushed under it.
    spawnSync('sync');
    times[name].push(timed(() => fn(w)));
    // Once: the root the pull unpacked runs, with no further unpacking.
    if (i === 0 && name.startsWith('moat pull (')) {
      const out = run(process.execPath, [moat, 'run', '--rm', REF, 'cat', '/etc/debian_version'], w.env);
      console.error(`moat run after moat pull: debian ${out.trim()}`);
    }
    if (name === 'podman pull' && !podmanDriver) {
      podmanDriver = JSON.parse(
        run('podman', ['--root', `${w.dir}/proot`, '--runroot', prun(w), 'info', '--format', 'json'], w.env),
      ).store.graphDriverName;
    }
    worlds.push([name, w]);
    // podman pull deletes enough files on the way (measured: the next moat pull's system time
    // went from 0.4 s to 1.3 s right after one, not after umoci) that whatever runs next pays for
    // it; podman is the last method of a round, so let its deletions age before the next round.
    if (name === 'podman pull' && i < RUNS - 1) await new Promise((r) => setTimeout(r, settle * 1000));
  }
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}

const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
const podman = med['podman pull'];
const floor = med['skopeo copy (floor)'];
const tarx = med['gunzip | tar x (no download)'];
const rows = Object.keys(med).map((k) => [
  k + (k === 'podman pull' && podmanDriver ? ` (${podmanDriver})` : ''),
  `${med[k].toFixed(2)} s`,
  `${Math.min(...times[k]).toFixed(2)} s`,
  `${(med[k] / floor).toFixed(2)}×`,
  `${(med[k] / tarx).toFixed(2)}×`,
  podman ? `${(med[k] / podman).toFixed(2)}×` : '-',
]);
const header = ['method', 'median', 'min', 'vs skopeo', 'vs gunzip|tar', 'vs podman'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
registry.kill();
/** Rootless podman leaves a pause process per world (it holds the user namespace): end it. */
const killPause = (w) => {
  for (const dir of [w.env.XDG_RUNTIME_DIR, prun(w)]) {
    try {
      process.kill(Number(readFileSync(path.join(dir, 'libpod/tmp/pause.pid'), 'utf8')), 'SIGKILL');
    } catch {
      // no pause process there
    }
  }
};
for (const [name, w] of worlds) {
  if (name === 'podman pull')
    spawnSync(
      'podman',
      ['--root', `${w.dir}/proot`, '--runroot', prun(w), 'unshare', 'rm', '-rf', `${w.dir}/proot`],
      { env: w.env, stdio: 'ignore' },
    );
  if (name === 'podman pull') killPause(w);
}
rmTree(base);
for (const d of pruns.values()) rmTree(d);
