/**
 * Root mode storage permissions. What root's moat keeps (blobs, image records, unpacked roots,
 * containers) is closed to every other local user; the subordinate user that is container root
 * can reach what runc needs, and replace nothing root's moat trusts later (records, specs, the
 * init's pid, runc's state as a list of processes to kill).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/moat.js');
let env: NodeJS.ProcessEnv = {};
let data = '';
let runtime = '';
let xdgData = '';
let vol = '';

/** moat under umask 000: every mode it sets must be its own choice. */
function moat(args: string[]) {
  const r = spawnSync('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, bin, ...args], {
    env,
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function range(file: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((p) => p[0] === 'root' || p[0] === '0');
  if (!line) throw new Error(`root needs a range in ${file} (scripts/setup-test-user.sh adds one)`);
  return Number(line[1]);
}

/** Run `sh -c cmd` as uid:gid with no supplementary groups (setpriv, util-linux). */
function as(uid: number, gid: number, cmd: string) {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'sh', '-c', cmd],
    { encoding: 'utf8', cwd: '/' },
  );
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Each command must fail for uid:gid (permission denied), and a harmless one must work. */
function denied(uid: number, gid: number, cmds: string[]): void {
  expect(as(uid, gid, 'true').code, `setpriv works for ${uid}`).toBe(0);
  for (const cmd of cmds) {
    const r = as(uid, gid, cmd);
    expect(r.code, `${uid}:${gid} could: ${cmd}\n${r.out}`).not.toBe(0);
  }
}

const NOBODY = 65534;
const name = `perm-${process.pid}`;
const withVolume = `perm-vol-${process.pid}`;
let id = '';
let volumeId = '';

beforeAll(() => {
  if (process.getuid?.() !== 0)
    throw new Error('the root project must run as root (CI does: npx vitest run --project root)');
  runtime = mkdtempSync(path.join(tmpdir(), 'moat-root-run-'));
  xdgData = mkdtempSync('/var/tmp/moat-root-data-');
  env = { ...process.env, XDG_DATA_HOME: xdgData, XDG_RUNTIME_DIR: runtime };
  data = path.join(xdgData, 'moat');
  execFileSync('chmod', ['711', xdgData, runtime]);
  execFileSync(
    process.execPath,
    [path.join(root, 'scripts/build-default-image.mjs'), '--out', path.join(runtime, 'rootfs.tar')],
    { env, stdio: 'ignore' },
  );
  const r = moat(['run', '-d', '--name', name, 'moat/busybox', 'sleep', '120']);
  if (r.code !== 0) throw new Error(`moat run: ${r.stderr}`);
  id = readdirSync(path.join(data, 'containers')).find((n) => /^[0-9a-f]{64}$/.test(n)) ?? '';
  // A bind mount: its staged spec is another config.json runc reads.
  vol = mkdtempSync(path.join(tmpdir(), 'moat-root-vol-'));
  execFileSync('chmod', ['755', vol]);
  const v = moat(['run', '-d', '--name', withVolume, '-v', `${vol}:/data`, 'moat/busybox', 'sleep', '120']);
  if (v.code !== 0) throw new Error(`moat run -v: ${v.stderr}`);
  volumeId =
    readdirSync(path.join(data, 'containers')).find((n) => /^[0-9a-f]{64}$/.test(n) && n !== id) ?? '';
}, 120_000);

afterAll(() => {
  moat(['rm', '-f', name, withVolume]);
  for (const d of [xdgData, runtime, vol]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('root mode storage', () => {
  it('is closed to other local users: blobs, images.json, unpacked roots, containers', () => {
    const storage = path.join(data, 'storage');
    const blobs = path.join(storage, 'blobs', 'sha256');
    const blob = path.join(blobs, readdirSync(blobs)[0]);
    const unpacked = readdirSync(path.join(storage, 'rootfs')).find((n) => /^[0-9a-f]{64}$/.test(n));
    expect(unpacked, 'the image was unpacked').toBeDefined();
    const rootfs = path.join(storage, 'rootfs', unpacked!);
    const ctr = path.join(data, 'containers', id);
    denied(NOBODY, NOBODY, [
      `ls ${data}`,
      `ls ${storage}`,
      `ls ${blobs}`,
      `cat ${blob}`,
      `cat ${storage}/images.json`,
      `ls ${storage}/rootfs`,
      `ls ${rootfs}`,
      `cat ${rootfs}/etc/passwd`,
      `ls ${data}/containers`,
      `ls ${ctr}`,
      `cat ${ctr}/container.json`,
      `cat ${ctr}/bundle/config.json`,
      `cat ${ctr}/container.log`,
    ]);
    // And by mode, whoever asks: blobs and records are root's alone.
    const mode = (p: string) => lstatSync(p).mode & 0o777;
    for (const p of [blobs, blob, `${storage}/images.json`, `${ctr}/container.json`])
      expect(mode(p) & 0o077, `${p} is ${mode(p).toString(8)}`).toBe(0);
    for (const p of [data, storage, `${storage}/rootfs`, `${data}/containers`, ctr])
      expect(mode(p) & 0o007, `${p} is ${mode(p).toString(8)}`).toBe(0);
    // Made under umask 000: nothing moat made is open to others for writing. What images and
    // containers make inside their roots is theirs, and what runc writes (its state, its pid
    // files in run/) is runc's, inside container root's 0700 directories.
    const theirs = /\/storage\/rootfs\/[0-9a-f]{64}\/|\/(upper|work|bundle\/rootfs|run)\/|\/moat\/runc\//;
    const open = execFileSync('find', [data, path.join(runtime, 'moat'), '-perm', '-o=w'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((p) => p && !theirs.test(p));
    expect(open, 'writable by others').toEqual([]);
  });

  it('lets container root reach its files but replace nothing moat trusts', () => {
    const uid = range('/etc/subuid');
    const gid = range('/etc/subgid');
    const storage = path.join(data, 'storage');
    const blobs = path.join(storage, 'blobs', 'sha256');
    const ctr = path.join(data, 'containers', id);
    const fake = `f=$(mktemp); echo '{}' > "$f"; chmod 644 "$f"`;
    // Every spec runc is given, the staged one of a container with a bind mount included.
    const specs = [id, volumeId].flatMap((c) =>
      execFileSync(
        'find',
        [path.join(data, 'containers', c), '-name', 'config.json', '-not', '-path', '*/upper/*'],
        {
          encoding: 'utf8',
        },
      )
        .trim()
        .split('\n'),
    );
    expect(specs.length, specs.join(' ')).toBeGreaterThanOrEqual(3);
    denied(
      uid,
      gid,
      specs.flatMap((spec) => [
        `echo '{}' > ${spec}`,
        `${fake}; mv -f "$f" ${spec}`,
        `mv ${path.dirname(spec)} ${path.dirname(spec)}.old`,
      ]),
    );
    denied(uid, gid, [
      `ls ${storage}`,
      `cat ${storage}/images.json`,
      `cat ${blobs}/${readdirSync(blobs)[0]}`,
      `ls ${data}/containers`,
      `echo '{}' > ${ctr}/container.json`,
      `rm -f ${ctr}/container.json`,
      `${fake}; mv -f "$f" ${ctr}/container.json`,
      `echo '{}' > ${ctr}/bundle/config.json`,
      `${fake}; mv -f "$f" ${ctr}/bundle/config.json`,
      `mv ${ctr}/bundle ${ctr}/bundle.old`,
      `echo 1 > ${ctr}/init.pid`,
      `${fake}; mv -f "$f" ${ctr}/init.pid`,
      `mkdir ${ctr}/x`,
    ]);
    // The container still runs as it was made.
    for (const c of [name, withVolume]) {
      const ex = moat(['exec', c, 'id', '-u']);
      expect(ex.stdout.trim(), ex.stderr).toBe('0');
    }
    const rec = JSON.parse(readFileSync(path.join(ctr, 'container.json'), 'utf8')) as { name: string };
    expect(rec.name).toBe(name);
  });

  it("does not let container root's runc state name a host process for fsck to kill", async () => {
    const uid = range('/etc/subuid');
    const gid = range('/etc/subgid');
    // A process of root's, outside every container.
    const victim: ChildProcess = spawn('sleep', ['120'], { stdio: 'ignore' });
    try {
      const pid = victim.pid!;
      const start = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
      const fakeId = 'f'.repeat(64);
      const state = JSON.stringify({ id: fakeId, init_process_pid: pid, init_process_start: Number(start) });
      const info = JSON.parse(moat(['info', '--format', 'json']).stdout) as { paths: { runtime: string } };
      const dir = path.join(info.paths.runtime, 'runc', fakeId);
      // runc's state directory belongs to container root (runc runs as it): it may write there.
      const w = as(uid, gid, `mkdir -p ${dir} && printf '%s' '${state}' > ${dir}/state.json`);
      expect(w.code, w.out).toBe(0);
      moat(['system', 'fsck', '--repair']);
      await new Promise((r) => setTimeout(r, 300));
      expect(victim.exitCode, 'the host process was killed').toBeNull();
      expect(victim.signalCode, 'the host process was killed').toBeNull();
    } finally {
      victim.kill('SIGKILL');
    }
  });
});
