#!/usr/bin/env node
// bench/scan: how fast a full scan reads layers, side by side in one run, on real content:
//   (a) a Debian-ish image: this machine's /var/lib/dpkg, /usr/share/doc and part of /usr/lib
//       (the dpkg database is the real one, so the package parser sees every installed package),
//   (b) a node_modules-heavy image: this repository's node_modules and package-lock.json.
// Each is one gzip layer in an OCI layout, loaded into a temporary store. For each:
//   - bound: gunzip + read the same stored blob with a null tar reader (tar-stream, entries drained)
//   - cold:  scanStored (every scanner, package inventory, no database) with no cache
//   - warm:  the same scan again (the image's cached result: one lookup)
//   - run lookup: what a run adds for an image already scanned (config + record read, in-process)
// and the import of the scanner module a run pays to compare scanner versions (a fresh process).
// With --minbase-tar FILE, (a) is a real Debian minbase image instead: a tar of a tree made by
// `debootstrap --variant=minbase` (bench/make-minbase.sh makes it, as root: debootstrap is a Debian
// package and fetches from the Debian mirror).
// syft and trivy are not Debian packages; they are compared when on PATH, else said absent.
//   node bench/scan.mjs [--mb N] [--minbase-tar FILE]   (build first: npm run build; run as the
//   non-root user)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const mbArg = process.argv.indexOf('--mb');
const USR_LIB_MB = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 250;
const minbaseArg = process.argv.indexOf('--minbase-tar');
const MINBASE_TAR = minbaseArg > 0 ? path.resolve(process.argv[minbaseArg + 1]) : undefined;
const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const dist = (p) => import(path.join(root, 'dist', p));

const base = mkdtempSync(path.join(tmpdir(), 'moat-bench-scan-'));
process.env.XDG_CACHE_HOME = path.join(base, 'cache');
process.env.XDG_CONFIG_HOME = path.join(base, 'config');
delete process.env.MOAT_VULN_DB;
delete process.env.MOAT_VEX;
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Files under `dir` (regular, readable) up to `maxBytes`, as paths relative to /. */
function filesUpTo(dir, maxBytes) {
  const out = execFileSync('find', [dir, '-xdev', '-type', 'f', '-readable', '-printf', '%s %p\\n'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const list = [];
  let total = 0;
  for (const line of out.split('\n').filter(Boolean).sort()) {
    const sp = line.indexOf(' ');
    const size = Number(line.slice(0, sp));
    if (total + size > maxBytes) continue;
    total += size;
    list.push(line.slice(sp + 2)); // without the leading /
  }
  return list;
}

/**
 * One gzip layer in an OCI layout at `dir`: tar -cz of the listed paths, relative to `cwd`, or
 * (`cwd` undefined) the tar `listFile` itself, gzipped.
 */
function layout(dir, cwd, listFile, tag) {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const layer = path.join(base, `${tag}.tar.gz`);
  execFileSync('sh', [
    '-c',
    cwd === undefined
      ? `gzip -6 < "${listFile}" > "${layer}"`
      : `tar -C "${cwd}" --no-recursion -T "${listFile}" -cf - 2>/dev/null | gzip -6 > "${layer}"`,
  ]);
  const gz = readFileSync(layer);
  const plain = execFileSync('sh', ['-c', `gzip -dc "${layer}" | sha256sum`], { encoding: 'utf8' }).split(
    ' ',
  )[0];
  const put = (b) => {
    const d = sha(b);
    writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const l = put(gz);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { User: '1000', Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${plain}`] },
    }),
  );
  const m = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l }],
      }),
    ),
  );
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          annotations: { 'org.opencontainers.image.ref.name': `bench/${tag}:1` },
        },
      ],
    }),
  );
  const tar = path.join(base, `${tag}-layout.tar`);
  execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
  return tar;
}

// ---- the two images ---------------------------------------------------------------------------
const debList = path.join(base, 'debian.list');
writeFileSync(
  debList,
  [
    'etc/os-release',
    ...filesUpTo('/var/lib/dpkg', 2 ** 30),
    ...filesUpTo('/usr/share/doc', 2 ** 30),
    ...filesUpTo('/usr/lib', USR_LIB_MB * 1024 * 1024),
  ]
    .map((p) => p.replace(/^\/+/, ''))
    .join('\n') + '\n',
);
const nodeList = path.join(base, 'node.list');
writeFileSync(
  nodeList,
  [
    'package.json',
    'package-lock.json',
    ...filesUpTo(path.join(root, 'node_modules'), 2 ** 31).map((p) => path.relative(root, '/' + p)),
  ].join('\n') + '\n',
);
const images = [
  MINBASE_TAR
    ? {
        name: 'debian minbase (debootstrap)',
        tar: layout(path.join(base, 'deb'), undefined, MINBASE_TAR, 'debian'),
      }
    : {
        name: 'debian-ish (dpkg, doc, /usr/lib)',
        tar: layout(path.join(base, 'deb'), '/', debList, 'debian'),
      },
  { name: 'node_modules (this repo)', tar: layout(path.join(base, 'node'), root, nodeList, 'node') },
];

const { ImageStore } = await dist('image/store.js');
const { loadArchive } = await dist('image/archive.js');
const { scanStored, recordedScan } = await dist('scan/service.js');
const { scanConfig } = await dist('scan/config.js');
const { extract } = await import('tar-stream');

const store = new ImageStore(path.join(base, 'store'));
const rows = [];
for (const img of images) {
  const res = await loadArchive(store, img.tar);
  const rec = res.images[0];
  const blob = store.blobPath
    ? store.blobPath(rec.layers[0].digest)
    : path.join(store.root, 'blobs', 'sha256', rec.layers[0].digest.slice(7));

  // bound: gunzip + a null tar reader over the same stream
  let bytes = 0;
  let entries = 0;
  const t0 = performance.now();
  const ex = extract();
  ex.on('entry', (h, s, next) => {
    entries++;
    s.on('data', (c) => (bytes += c.length));
    s.on('end', next);
    s.resume();
  });
  await pipeline(createReadStream(blob), createGunzip(), ex);
  const bound = (performance.now() - t0) / 1000;

  // cold: the layer and image caches emptied (the scan records stay: runs read them below)
  for (const d of ['layers', 'images'])
    rmSync(path.join(store.root, 'scan', d), { recursive: true, force: true });
  const t1 = performance.now();
  const report = await scanStored(store, rec, {});
  const cold = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await scanStored(store, rec, {});
  const warm = performance.now() - t2;
  const t3 = performance.now();
  const N = 50;
  for (let i = 0; i < N; i++) recordedScan(store.root, rec, scanConfig());
  const lookup = (performance.now() - t3) / N;
  const mb = bytes / 1024 / 1024;
  rows.push({
    image: img.name,
    mb,
    entries,
    packages: report.packages.length,
    findings: report.findings.length,
    bound,
    cold,
    warm,
    lookup,
  });
}

// What a run of an already-scanned image adds, in a fresh process as `moat run` is one: loading
// the scan-on-missing wrapper and the scan facts (unbundled modules here: the CLI's bundle has
// them in its main chunk, so this over-states it), then the wrapper's lookup and the facts' read.
const probe = `
  // what every run loads anyway (the router, image facts, the store, paths, errors)
  for (const m of ['api/router.js', 'api/image-facts.js', 'api/host-facts.js', 'image/store.js', 'util/paths.js', 'util/fsutil.js', 'image/digest.js', 'errors.js'])
    await import(${JSON.stringify(path.join(root, 'dist'))} + '/' + m);
  const t0 = performance.now();
  const { withScanOnMissing } = await import(${JSON.stringify(path.join(root, 'dist/api/scan-routes.js'))});
  const { imageScanFacts } = await import(${JSON.stringify(path.join(root, 'dist/api/scan-facts.js'))});
  const { ImageStore } = await import(${JSON.stringify(path.join(root, 'dist/image/store.js'))});
  const t1 = performance.now();
  const store = new ImageStore(${JSON.stringify(path.join(base, 'store'))});
  const engine = { deps: { images: store } };
  let asked = 0;
  const [r] = withScanOnMissing([{ action: 'container.run', facts: async () => ({}) }], async () => { asked++; }, engine);
  const rec = await store.resolve('localhost/bench/debian:1');
  const t2 = performance.now();
  await r.facts({ req: { subject: {} }, body: { options: { image: 'localhost/bench/debian:1' } } });
  const scan = imageScanFacts(engine, rec);
  const t3 = performance.now();
  console.log(JSON.stringify({ load: t1 - t0, lookup: t3 - t2, asked, packages: scan?.packages }));
`;
const pr = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
  encoding: 'utf8',
  env: process.env,
});
const run = JSON.parse(pr.stdout.trim() || '{}');
if (pr.status !== 0 || run.asked !== 0 || !run.packages)
  throw new Error(`run probe failed: ${pr.stderr} ${pr.stdout}`);

const f1 = (n) => n.toFixed(1);
console.log(`\nbench/scan (node ${process.version}, ${statSync(base).uid === 0 ? 'root' : 'non-root'})\n`);
console.log(
  [
    'image'.padEnd(34),
    'MB'.padStart(7),
    'entries'.padStart(8),
    'pkgs'.padStart(6),
    'gunzip+read MB/s'.padStart(17),
    'scan cold MB/s'.padStart(15),
    'ratio'.padStart(6),
    'warm ms'.padStart(8),
    'run lookup ms'.padStart(14),
  ].join(' '),
);
for (const r of rows)
  console.log(
    [
      r.image.padEnd(34),
      f1(r.mb).padStart(7),
      String(r.entries).padStart(8),
      String(r.packages).padStart(6),
      f1(r.mb / r.bound).padStart(17),
      f1(r.mb / r.cold).padStart(15),
      (r.bound / r.cold).toFixed(2).padStart(6),
      f1(r.warm).padStart(8),
      r.lookup.toFixed(2).padStart(14),
    ].join(' '),
  );
console.log(
  `\nwhat a run of an already-scanned image adds (fresh process, no rescan): lookup + facts ${run.lookup.toFixed(2)} ms; loading the scan modules a run adds ${f1(run.load)} ms (unbundled; the CLI bundle has them in its main chunk)`,
);
for (const t of ['syft', 'trivy'])
  console.log(
    have(t)
      ? `${t}: on PATH, not yet compared by this bench`
      : `${t}: absent (not a Debian package; not installed here), not compared`,
  );
console.log(
  MINBASE_TAR
    ? `debian minbase: ${MINBASE_TAR}`
    : "debian-ish: built from this machine's files (--minbase-tar FILE for a debootstrap minbase; bench/make-minbase.sh)",
);
rmSync(base, { recursive: true, force: true });
