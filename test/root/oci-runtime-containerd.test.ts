/**
 * moat-runtime with containerd as the caller: Debian's containerd, started by this test as root
 * on its own socket, root and state directories, and `ctr run --runc-binary moat-runtime`. The
 * runc shim (io.containerd.runc.v2) calls moat-runtime as it would runc (`--root
 * /run/containerd/runc/NS --log BUNDLE/log.json --log-format json create --bundle B --pid-file F
 * ID`) and reads the refusal from the log file. The image is moat's default busybox root,
 * wrapped as a docker archive and imported with `ctr images import`. CRI annotations are given
 * with `ctr run --annotation`, as containerd's CRI plugin sets them for a pod's containers.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const RUNTIME = path.join(root, 'bin/moat-runtime');
const IMAGE = 'localhost/moat-oci-busybox:e2e';
const NS = 'moat-e2e';
let dir = '';
let sock = '';
let containerd: ChildProcess | undefined;

function ctr(args: string[], timeout = 60_000) {
  const r = spawnSync('ctr', ['-a', sock, '-n', NS, ...args], { encoding: 'utf8', timeout });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const run = (id: string, flags: string[], cmd: string[]) =>
  ctr(['run', '--runc-binary', RUNTIME, '--rm', ...flags, IMAGE, id, ...cmd]);

/** A docker archive (`docker save`'s layout) of one layer: the root filesystem tar. */
function dockerArchive(rootfsTar: string, out: string): void {
  const d = path.join(dir, 'archive');
  mkdirSync(d);
  const layer = readFileSync(rootfsTar);
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  writeFileSync(path.join(d, 'layer.tar'), layer);
  const config = JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  });
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(path.join(d, configName), config);
  writeFileSync(
    path.join(d, 'manifest.json'),
    JSON.stringify([{ Config: configName, RepoTags: [IMAGE], Layers: ['layer.tar'] }]),
  );
  execFileSync('tar', ['-cf', out, '-C', d, '.']);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the root project must run as root');
  for (const tool of ['containerd', 'ctr'])
    if (spawnSync(tool, ['--version']).status !== 0)
      throw new Error(`${tool} is needed for this suite: apt-get install containerd`);
  dir = mkdtempSync('/tmp/moat-ctrd-');
  sock = path.join(dir, 'c.sock');
  const data = path.join(dir, 'data.json');
  writeFileSync(data, JSON.stringify({ moat: { oci: { trusted_namespaces: ['kube-system'] } } }));
  writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${sock}.ttrpc"`,
    ].join('\n') + '\n',
  );
  // The shim inherits containerd's environment, and moat-runtime the shim's.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: dir,
    MOAT_POLICY: `${path.join(root, 'policies/authz.rego')}:${data}`,
    MOAT_OCI_CONFIG: path.join(dir, 'oci.json'),
    MOAT_OCI_LOG: path.join(dir, 'decisions.log'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
  };
  containerd = spawn('containerd', ['--config', path.join(dir, 'config.toml')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  containerd.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  for (let i = 0; ; i++) {
    if (ctr(['version'], 5_000).code === 0) break;
    if (i > 100) throw new Error(`containerd did not come up:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const rootfs = path.join(dir, 'rootfs.tar');
  execFileSync(
    process.execPath,
    [path.join(root, 'scripts/build-default-image.mjs'), '--no-import', '--out', rootfs],
    {
      stdio: 'ignore',
    },
  );
  const archive = path.join(dir, 'busybox-docker.tar');
  dockerArchive(rootfs, archive);
  const imp = ctr(['images', 'import', archive], 120_000);
  expect(imp.stderr).toBe('');
  expect(ctr(['images', 'ls', '-q']).stdout.split('\n')).toContain(IMAGE);
}, 180_000);

afterAll(async () => {
  if (sock) {
    for (const id of ctr(['tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean))
      ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
    for (const id of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
      ctr(['tasks', 'delete', '-f', id]);
      ctr(['containers', 'delete', id]);
    }
  }
  if (containerd && containerd.exitCode === null) {
    const exited = new Promise((r) => containerd!.once('exit', r));
    containerd.kill('SIGTERM');
    await exited;
  }
  // runc's state directory for the namespace (containerd's fixed /run/containerd/runc/NS): empty now.
  spawnSync('rmdir', [`/run/containerd/runc/${NS}`], { stdio: 'ignore' });
  if (dir) {
    spawnSync('umount', ['-R', `${dir}/state`], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('ctr run --runc-binary moat-runtime', () => {
  it('runs a container under moat’s hardening: seccomp, no_new_privs, the allow-list', () => {
    const r = run(
      'c-echo',
      [],
      ['sh', '-c', 'echo hi; grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'],
    );
    expect(r.stderr).toBe('');
    // containerd's default capabilities are Docker's: the allow-list, all kept.
    expect(r.stdout).toBe('hi\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n');
    expect(r.code).toBe(0);
    const log = readFileSync(path.join(dir, 'decisions.log'), 'utf8');
    expect(log).toContain('"msg":"moat: oci.create allowed"');
    expect(log).toContain('"msg":"moat: hardened linux.resources.pids.limit: set to 2048"');
  });

  it('sets the pids limit on the container’s cgroup (ctr gives it one: /NAMESPACE/ID); exec is hardened too', async () => {
    const d = ctr(['run', '--runc-binary', RUNTIME, '-d', IMAGE, 'c-pids', 'sleep', '60']);
    expect(d.stderr).toBe('');
    const v1 = `/sys/fs/cgroup/pids/${NS}/c-pids/pids.max`;
    const v2 = `/sys/fs/cgroup/${NS}/c-pids/pids.max`;
    let max = '';
    for (let i = 0; i < 50 && !max; i++) {
      for (const f of [v1, v2]) if (existsSync(f)) max = readFileSync(f, 'utf8');
      if (!max) await new Promise((r) => setTimeout(r, 100));
    }
    expect(max).toBe('2048\n');
    // The shim's exec (exec --process FILE --detach): cut to the allow-list, no_new_privs set.
    const ex = ctr([
      'tasks',
      'exec',
      '--exec-id',
      'e1',
      'c-pids',
      'grep',
      '-E',
      '^(CapEff|NoNewPrivs):',
      '/proc/self/status',
    ]);
    expect(ex.stderr).toBe('');
    expect(ex.stdout).toBe('CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\n');
    ctr(['tasks', 'kill', '-s', 'SIGKILL', 'c-pids']);
    for (let i = 0; i < 50 && ctr(['tasks', 'delete', 'c-pids']).code !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(ctr(['containers', 'delete', 'c-pids']).code).toBe(0);
  });

  it('Landlock: /dev takes no new file and a --read-only root none; the shim’s exec is under the same ruleset', async () => {
    const r = run(
      'c-landlock',
      ['--read-only'],
      ['sh', '-c', 'echo a > /dev/shm/a && cat /dev/shm/a; mkdir /dev/x; touch /x; exit 0'],
    );
    expect(r.stdout).toBe('a\n');
    expect(r.stderr).toContain("mkdir: can't create directory '/dev/x': Permission denied");
    expect(r.stderr).toContain('touch: /x: Read-only file system');
    const d = ctr([
      'run',
      '--runc-binary',
      RUNTIME,
      '-d',
      '--read-only',
      IMAGE,
      'c-landlock-exec',
      'sleep',
      '60',
    ]);
    expect(d.stderr).toBe('');
    const ex = ctr([
      'tasks',
      'exec',
      '--exec-id',
      'e1',
      'c-landlock-exec',
      'sh',
      '-c',
      'mkdir /dev/y || echo refused',
    ]);
    expect(ex.stdout).toBe('refused\n');
    expect(ex.stderr).toContain("mkdir: can't create directory '/dev/y': Permission denied");
    ctr(['tasks', 'kill', '-s', 'SIGKILL', 'c-landlock-exec']);
    for (let i = 0; i < 50 && ctr(['tasks', 'delete', 'c-landlock-exec']).code !== 0; i++)
      await new Promise((res) => setTimeout(res, 100));
    expect(ctr(['containers', 'delete', 'c-landlock-exec']).code).toBe(0);
  });

  it('update is judged: the pids limit may be lowered, not removed nor raised past the default', async () => {
    const d = ctr(['run', '--runc-binary', RUNTIME, '-d', IMAGE, 'c-upd', 'sleep', '60']);
    expect(d.stderr).toBe('');
    const pidsMax = () =>
      [`/sys/fs/cgroup/pids/${NS}/c-upd/pids.max`, `/sys/fs/cgroup/${NS}/c-upd/pids.max`]
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f, 'utf8'))[0];
    for (let i = 0; i < 50 && !pidsMax(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pidsMax()).toBe('2048\n');
    // moat-runtime as the runc shim calls it for an update (ctr here has no tasks update).
    const env = {
      ...process.env,
      MOAT_POLICY: `${path.join(root, 'policies/authz.rego')}:${path.join(dir, 'data.json')}`,
      MOAT_OCI_CONFIG: path.join(dir, 'oci.json'),
      MOAT_OCI_LOG: path.join(dir, 'decisions.log'),
      XDG_CACHE_HOME: path.join(dir, 'cache'),
    };
    const update = (args: string[], input?: string) =>
      spawnSync(RUNTIME, ['--root', `/run/containerd/runc/${NS}`, 'update', ...args, 'c-upd'], {
        env,
        input,
        encoding: 'utf8',
      });
    const removed = update(['--resources', '-'], JSON.stringify({ pids: { limit: -1 } }));
    expect(removed.stderr).toContain(
      "moat-runtime: oci.update denied by rego:data.moat.authz.decision: removing container c-upd's pids limit is not allowed (the update asks for none)",
    );
    expect(removed.status).toBe(1);
    const raised = update(['--pids-limit', '100000']);
    expect(raised.stderr).toContain(
      "raising container c-upd's pids limit to 100000 is not allowed (at most 2048)",
    );
    expect(pidsMax()).toBe('2048\n');
    const lowered = update(['--resources', '-'], JSON.stringify({ pids: { limit: 100 } }));
    expect(lowered.stderr).toBe('');
    expect(lowered.status).toBe(0);
    expect(pidsMax()).toBe('100\n');
    ctr(['tasks', 'kill', '-s', 'SIGKILL', 'c-upd']);
    for (let i = 0; i < 50 && ctr(['tasks', 'delete', 'c-upd']).code !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(ctr(['containers', 'delete', 'c-upd']).code).toBe(0);
  });

  it('refuses --cap-add CAP_SYS_ADMIN and --privileged, with the policy’s reason in ctr’s error', () => {
    const cap = run('c-cap', ['--cap-add', 'CAP_SYS_ADMIN'], ['true']);
    expect(cap.code).not.toBe(0);
    expect(cap.stderr).toContain(
      "moat-runtime: oci.create denied by rego:data.moat.authz.decision: capability SYS_ADMIN is not allowed (the container's spec asks for it)",
    );
    const priv = run('c-priv', ['--privileged'], ['true']);
    expect(priv.code).not.toBe(0);
    expect(priv.stderr).toContain(
      'privileged containers are not allowed (the spec asks for every capability)',
    );
  });

  it('gives the policy the pod from the CRI annotations: a trusted namespace’s container is allowed', () => {
    const pod = (ns: string) => [
      '--annotation',
      `io.kubernetes.cri.sandbox-namespace=${ns}`,
      '--annotation',
      'io.kubernetes.cri.sandbox-name=node-agent-x1',
      '--annotation',
      'io.kubernetes.cri.container-name=agent',
      '--annotation',
      'io.kubernetes.cri.container-type=container',
      '--cap-add',
      'CAP_SYS_ADMIN',
    ];
    const shop = run('c-shop', pod('shop'), ['true']);
    expect(shop.stderr).toContain('capability SYS_ADMIN is not allowed');
    const sys = run('c-kube-system', pod('kube-system'), ['grep', '^CapBnd:', '/proc/self/status']);
    expect(sys.stderr).toBe('');
    // Allowed by the policy; the hardening still cuts the capabilities to the allow-list.
    expect(sys.stdout).toBe('CapBnd:\t00000000a80425fb\n');
  });
});

/**
 * The fast path under containerd's shim: oci.json (read at every create) names a `moat system
 * service` running as root, and the shim's `--log FILE --log-format json create` goes through
 * native/moat-oci-front without Node. The service's lines say `front: native`.
 */
describe('ctr run --runc-binary moat-runtime, the fast path (a moat service decides)', () => {
  let service: ChildProcess | undefined;
  let svcSock = '';
  const ociJson = () => path.join(dir, 'oci.json');

  beforeAll(async () => {
    svcSock = path.join(dir, 'moat.sock');
    let log = '';
    service = spawn(
      process.execPath,
      [path.join(root, 'bin/moat.js'), 'system', 'service', '--socket', svcSock],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin',
          HOME: dir,
          MOAT_POLICY: `${path.join(root, 'policies/authz.rego')}:${path.join(dir, 'data.json')}`,
          XDG_CACHE_HOME: path.join(dir, 'cache'),
          XDG_DATA_HOME: path.join(dir, 'svc-data'),
          XDG_RUNTIME_DIR: path.join(dir, 'svc-run'),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    service.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    for (let i = 0; i < 100 && !existsSync(svcSock); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(svcSock)) throw new Error(`the service did not start: ${log}`);
    writeFileSync(ociJson(), JSON.stringify({ service: svcSock }));
  });

  afterAll(async () => {
    rmSync(ociJson(), { force: true });
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service!.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
  });

  it('runs hardened through the native front; SYS_ADMIN refused with the reason in ctr’s error', () => {
    const r = run('c-fast', [], ['sh', '-c', 'echo hi; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hi\nNoNewPrivs:\t1\nSeccomp:\t2\n');
    expect(r.code).toBe(0);
    const lines = readFileSync(path.join(dir, 'decisions.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.id === 'c-fast')[0]).toMatchObject({
      msg: 'moat: oci.create allowed',
      front: 'native',
    });
    const cap = run('c-fast-cap', ['--cap-add', 'CAP_SYS_ADMIN'], ['true']);
    expect(cap.code).not.toBe(0);
    expect(cap.stderr).toContain(
      "moat-runtime: oci.create denied by rego:data.moat.authz.decision: capability SYS_ADMIN is not allowed (the container's spec asks for it)",
    );
  });

  it('fails closed when the service is down, with why in ctr’s error', async () => {
    const exited = new Promise((r) => service!.once('exit', r));
    service!.kill('SIGTERM');
    await exited;
    const r = run('c-fast-down', [], ['echo', 'ran']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`moat-runtime: moat service at ${svcSock}: connect:`);
  });
});
