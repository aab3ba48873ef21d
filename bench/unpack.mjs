#!/usr/bin/env node
// bench/unpack: applying one gzip layer onto an empty directory, side by side in one run:
//   gunzip alone (Node)   createGunzip with moat's settings, output discarded: the floor for a
//                         Node unpacker, which must decompress on one stream
//   gzip -dc | tar x      GNU tar (decompression in another process, file creation in C)
//   moat unpack worker    `node dist/image/unpack-worker.js` as src/runtime/rootfs.ts spawns it
//                         (ownership 'squash', no user namespace), process start-up included
//   --baseline JS         the same, for another build of the worker (e.g. the previous commit's:
//                         `git stash; npx tsc -p tsconfig.build.json --outDir /tmp/old; git stash pop`)
// Interleaved, median of N runs, each into a fresh directory under --dir.
//
//   npm run build && node bench/unpack.mjs [--layer FILE.tar.gz] [--runs N] [--dir DIR] [--baseline JS]
//
// Default layer: /tmp/mb6.tar.gz, made from bench/pull.mjs's Debian minbase rootfs tar if missing.
// On a shared machine, `sudo chrt -f 10 node bench/unpack.mjs ...` keeps other load from deciding
// the result (every process the bench starts inherits the real-time policy).
//
// The trees are removed only at the end. ext4 without a journal (as on some VMs) skips free inodes
// freed in the last minute or so when it allocates new ones, and scans past each of them every
// time: right after a large removal, creating a file costs ~200 µs of kernel time instead of ~15.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const RUNS = Number(arg('--runs', '5'));
const LAYER = arg('--layer', '/tmp/mb6.tar.gz');
const DIR = arg('--dir', tmpdir());
const BASELINE = arg('--baseline', undefined);
const WORKER = path.join(root, 'dist/image/unpack-worker.js');
const ROOTFS_TAR = '/var/cache/moat-bench/minbase-bookworm.tar';

if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run \`npm run build\` first`);
if (BASELINE && !existsSync(BASELINE)) throw new Error(`no baseline worker at ${BASELINE}`);
if (!existsSync(LAYER)) {
  if (!existsSync(ROOTFS_TAR))
    throw new Error(`no layer at ${LAYER} and no ${ROOTFS_TAR} (sudo node bench/pull.mjs --build-rootfs)`);
  const r = spawnSync('sh', ['-c', 'gzip -c "$1" > "$2"', 'sh', ROOTFS_TAR, LAYER], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`gzip ${ROOTFS_TAR} failed`);
}

const base = mkdtempSync(path.join(DIR, 'moat-bench-unpack-'));
let n = 0;
const fresh = () => mkdtempSync(path.join(base, `r${n++}-`));
const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const check = (r, what) => {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr ?? ''}${r.stdout ?? ''}`);
};

function unpackWith(worker) {
  const dir = fresh();
  const t = now();
  const r = spawnSync(process.execPath, [worker], {
    input: JSON.stringify({ rootfs: dir, layers: [{ path: LAYER }], ownership: 'squash' }),
    encoding: 'utf8',
  });
  const dt = now() - t;
  check(r, `moat unpack worker ${worker}`);
  return dt;
}

const methods = {
  'gunzip alone (Node)': async () => {
    const t = now();
    await pipeline(
      createReadStream(LAYER, { highWaterMark: 1 << 20 }),
      createGunzip({ chunkSize: 1 << 20 }),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    return now() - t;
  },
  'gzip -dc | tar x': async () => {
    const dir = fresh();
    const t = now();
    const r = spawnSync('sh', ['-c', 'gzip -dc "$1" | tar -x --no-same-owner -C "$2"', 'sh', LAYER, dir], {
      encoding: 'utf8',
    });
    const dt = now() - t;
    check(r, 'tar');
    return dt;
  },
  'moat unpack worker': async () => unpackWith(WORKER),
};
if (BASELINE) methods['moat unpack worker (--baseline)'] = async () => unpackWith(BASELINE);

const times = Object.fromEntries(Object.keys(methods).map((k) => [k, []]));
console.error(
  `layer ${LAYER} (${(statSync(LAYER).size / 1e6).toFixed(1)} MB), ${RUNS} runs each, interleaved`,
);
try {
  for (let i = 0; i < RUNS; i++) {
    for (const [name, fn] of Object.entries(methods)) {
      // Each run starts with the previous one's data on disk, not in dirty pages being written back.
      spawnSync('sync');
      times[name].push(await fn());
    }
    process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}

const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
const tar = med['gzip -dc | tar x'];
const rows = Object.keys(med).map((k) => [
  k,
  `${med[k].toFixed(2)} s`,
  `${Math.min(...times[k]).toFixed(2)} s`,
  `${(med[k] / tar).toFixed(2)}×`,
]);
const header = ['method', 'median', 'min', 'vs tar'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
