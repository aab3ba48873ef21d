#!/usr/bin/env node
// Build moat's default image from Debian's busybox-static, with no registry and no network:
// a root filesystem tar (busybox + its applets, /etc/passwd with root and app(1000), a home
// owned by 1000, and /usr/local/bin/isolation-report), then `moat import` it as moat/busybox.
//   node scripts/build-default-image.mjs [--out rootfs.tar] [--name moat/busybox:latest] [--no-import]
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from 'tar-stream';

const args = process.argv.slice(2);
const opt = (n, d) => {
  const i = args.indexOf(n);
  return i >= 0 ? args[i + 1] : d;
};
const out = opt('--out', path.join(tmpdir(), `moat-default-rootfs-${process.getuid()}.tar`));
const name = opt('--name', 'moat/busybox:latest');
// Debian's busybox-static installs a statically linked /bin/busybox: it needs nothing else.
const busybox = process.env.MOAT_BUSYBOX ?? '/bin/busybox';
if (!existsSync(busybox)) {
  console.error('moat: busybox is not installed; as root run: apt-get install -y busybox-static');
  process.exit(1);
}
const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);

const report = `#!/bin/sh
# What this container can see of its isolation (moat's default image).
echo "== moat isolation report =="
echo "id:               $(id)"
echo "hostname:         $(hostname)"
echo "uid_map:          $(tr -s ' ' < /proc/self/uid_map | tr '\\n' ';')"
echo "gid_map:          $(tr -s ' ' < /proc/self/gid_map | tr '\\n' ';')"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | sed 's/:\\t/: /; s/^/                  /; s/^ *\\([A-Za-z]*:\\)/\\1/' | awk '{printf "%-18s%s\\n", $1, $2}'
echo "processes seen:   $(ls -d /proc/[0-9]* | wc -l)"
echo "network:          $(ls /sys/class/net | tr '\\n' ' ')"
if touch /.probe 2>/dev/null; then rm -f /.probe; echo "root filesystem:  writable"; else echo "root filesystem:  read-only"; fi
if mount -t tmpfs none /mnt 2>/dev/null; then echo "mount:            ALLOWED"; else echo "mount:            denied"; fi
if unshare -U true 2>/dev/null; then echo "unshare -U:       ALLOWED"; else echo "unshare -U:       denied"; fi
echo "image file owner: $(stat -c '%u:%g' /home/app) (/home/app, 1000:1000 in the image)"
`;

const passwd =
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const group = 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n';
const mtime = new Date('2026-01-01T00:00:00Z');

const p = pack();
const ws = createWriteStream(out);
p.pipe(ws);
const dir = (n, mode = 0o755, uid = 0, gid = 0) =>
  p.entry({ name: n, type: 'directory', mode, uid, gid, mtime });
const file = (n, data, mode = 0o644, uid = 0, gid = 0) => p.entry({ name: n, mode, uid, gid, mtime }, data);
for (const d of [
  'bin',
  'sbin',
  'usr',
  'usr/bin',
  'usr/sbin',
  'usr/local',
  'usr/local/bin',
  'etc',
  'root',
  'home',
  'var',
  'mnt',
  'proc',
  'sys',
  'dev',
  'run',
])
  dir(d, d === 'root' ? 0o700 : 0o755);
dir('tmp', 0o1777);
dir('home/app', 0o755, 1000, 1000);
file('home/app/.profile', 'export PS1="app$ "\n', 0o644, 1000, 1000);
file('bin/busybox', readFileSync(busybox), 0o755);
for (const a of applets) {
  if (a === 'busybox') continue;
  p.entry({ name: `bin/${path.basename(a)}`, type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
}
file('etc/passwd', passwd);
file('etc/group', group);
file('etc/os-release', 'NAME="moat busybox"\nID=moat-busybox\n');
file('usr/local/bin/isolation-report', report, 0o755);
p.finalize();
await new Promise((r) => ws.on('close', r));
console.error(`rootfs tar: ${out} (${statSync(out).size} bytes, busybox ${applets.length} applets)`);

if (!args.includes('--no-import')) {
  const moat = fileURLToPath(new URL('../bin/moat.js', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [
      moat,
      'import',
      '--change',
      'CMD ["/usr/local/bin/isolation-report"]',
      '--change',
      'ENV PATH=/usr/local/bin:/bin',
      out,
      name,
    ],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}
