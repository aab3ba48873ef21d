/**
 * moat-runtime's main() against a stand-in runtime that records what it was given: the flags
 * runc gets, the spec it reads, the log lines a caller reads, and refusals that never reach it.
 * Decided by the default policy (policies/) unless a test names another.
 */
import {
  chmodSync,
  lstatSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/oci/main.js';

const root = mkdtempSync(path.join(tmpdir(), 'moat-oci-main-'));
const fake = path.join(root, 'fake-runc');
const out = path.join(root, 'out');
const POLICIES = path.resolve(import.meta.dirname, '../../../policies/authz.rego');
writeFileSync(
  fake,
  `#!/bin/sh
printf '%s\\n' "$@" > "${out}/args"
for a in "$@"; do case "$a" in --bundle=*) cp "\${a#--bundle=}/config.json" "${out}/config.json";; esac; done
exit 0
`,
);
chmodSync(fake, 0o755);

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
let bundle = '';
let log = '';
beforeEach(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  bundle = path.join(root, `bundle-${++n}`);
  mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  log = path.join(bundle, 'log.json');
  process.env = {
    ...saved,
    MOAT_POLICY: POLICIES,
    MOAT_OCI_CONFIG: path.join(root, 'no-such-oci.json'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
  };
  delete process.env.MOAT_OCI_LOG;
  delete process.env.MOAT_RUNTIME_NESTED;
});

const PODMAN_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID'];

function writeSpec(extra: Record<string, unknown> = {}, caps = PODMAN_CAPS): string {
  const spec = {
    ociVersion: '1.0.2-dev',
    process: { args: ['true'], user: { uid: 0, gid: 0 }, capabilities: { bounding: caps, effective: caps } },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] }],
    linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
    ...extra,
  };
  const text = JSON.stringify(spec, null, '\t');
  writeFileSync(path.join(bundle, 'config.json'), text);
  return text;
}

const run = (...args: string[]) => main(['node', 'moat-runtime', '--runtime-binary', fake, ...args]);
const create = (...flags: string[]) =>
  run(
    '--log',
    log,
    '--log-format',
    'json',
    ...flags,
    'create',
    '--bundle',
    bundle,
    '--pid-file',
    `${bundle}/pid`,
    'c1',
  );
const logLines = () =>
  readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
const runtimeArgs = () =>
  existsSync(`${out}/args`) ? readFileSync(`${out}/args`, 'utf8').trim().split('\n') : null;

describe('moat-runtime create', () => {
  it('hands runc a hardened copy in <bundle>/.moat-runtime, leaving the caller’s config.json as it was', async () => {
    const original = writeSpec();
    expect(await create()).toBe(0);
    expect(runtimeArgs()).toEqual([
      `--log=${log}`,
      '--log-format=json',
      'create',
      `--pid-file=${bundle}/pid`,
      `--bundle=${bundle}/.moat-runtime`,
      'c1',
    ]);
    expect(readFileSync(path.join(bundle, 'config.json'), 'utf8')).toBe(original);
    const got = JSON.parse(readFileSync(`${out}/config.json`, 'utf8'));
    expect(got.root.path).toBe(path.join(bundle, 'rootfs'));
    expect(got.mounts[0].source).toBe(path.join(bundle, 'data'));
    expect(got.process.noNewPrivileges).toBe(true);
    expect(got.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    // The decision and every change are in runc's log, where the shim reads.
    const msgs = logLines().map((l) => l.msg);
    expect(msgs[0]).toBe('moat: oci.create allowed');
    expect(msgs).toContain(
      "moat: hardened linux.seccomp: set to moat's default profile (" +
        got.linux.seccomp.syscalls.length +
        ' rules)',
    );
  });

  it('replaces a .moat-runtime that is a symlink without following it', async () => {
    const elsewhere = path.join(root, `elsewhere-${n}`);
    mkdirSync(elsewhere);
    writeFileSync(path.join(elsewhere, 'keep'), 'x');
    symlinkSync(elsewhere, path.join(bundle, '.moat-runtime'));
    writeSpec();
    expect(await create()).toBe(0);
    expect(readFileSync(path.join(elsewhere, 'keep'), 'utf8')).toBe('x');
    expect(existsSync(path.join(elsewhere, 'config.json'))).toBe(false);
    expect(lstatSync(path.join(bundle, '.moat-runtime')).isDirectory()).toBe(true);
  });

  it('refuses SYS_ADMIN by the default policy: exit 1, the reason on stderr and in the log, runc never called', async () => {
    writeSpec({}, [...PODMAN_CAPS, 'CAP_SYS_ADMIN']);
    expect(await create()).toBe(1);
    expect(runtimeArgs()).toBeNull();
    const err = logLines().at(-1)!;
    expect(err.level).toBe('error');
    expect(err.msg).toBe(
      "moat-runtime: oci.create denied by rego:data.moat.authz.decision: capability SYS_ADMIN is not allowed (the container's spec asks for it)",
    );
    expect(err.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(existsSync(path.join(bundle, '.moat-runtime'))).toBe(false);
  });

  it('refuses a privileged spec, the host PID namespace and a bind mount of /etc through a symlink', async () => {
    mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
    symlinkSync('/etc', path.join(bundle, 'etc-link'));
    writeSpec({
      mounts: [{ destination: '/x', type: 'bind', source: 'etc-link' }],
      linux: { namespaces: ['network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
    });
    expect(await create()).toBe(1);
    expect(logLines().at(-1)!.msg).toBe(
      "moat-runtime: oci.create denied by rego:data.moat.authz.decision: mounting host path /etc is not allowed; the host's pid namespace is not allowed (the spec asks for none of its own)",
    );
  });

  it('run: the same decision, then runc run with moat’s bundle; the directory is gone after a foreground run', async () => {
    writeSpec();
    expect(await run('--root', '/r', 'run', '-d', '--bundle', bundle, 'c2')).toBe(0);
    expect(runtimeArgs()).toEqual(['--root=/r', 'run', '--detach', `--bundle=${bundle}/.moat-runtime`, 'c2']);
    expect(existsSync(path.join(bundle, '.moat-runtime/config.json'))).toBe(true);
    expect(await run('run', '--bundle', bundle, 'c3')).toBe(0);
    expect(existsSync(path.join(bundle, '.moat-runtime'))).toBe(false);
  });

  it('gives the policy the hooks a spec asks runc to run on the host', async () => {
    const policy = path.join(root, 'hooks.rego');
    writeFileSync(
      policy,
      `package moat.authz
import rego.v1
decision := {"allow": false, "deny": [sprintf("%s %s", [h.stage, h.path]) | some h in input.facts.oci.hooks]}
`,
    );
    process.env.MOAT_POLICY = policy;
    writeSpec({ hooks: { createRuntime: [{ path: '/usr/bin/evil', args: ['evil'] }] } });
    expect(await create()).toBe(1);
    expect(logLines().at(-1)!.msg).toBe(
      'moat-runtime: oci.create denied by rego:data.moat.authz.decision: createRuntime /usr/bin/evil',
    );
  });

  it('refuses the host’s / as the root filesystem, however it is spelled', async () => {
    symlinkSync('/', path.join(bundle, 'host'));
    writeSpec({ root: { path: 'host/.' } });
    expect(await create()).toBe(1);
    expect(logLines().at(-1)!.msg).toBe(
      "moat-runtime: oci.create denied by rego:data.moat.authz.decision: the container's root filesystem may not be the host's /",
    );
  });

  it('gives the policy the pod from containerd’s CRI annotations', async () => {
    const policy = path.join(root, 'pod.rego');
    writeFileSync(
      policy,
      `package moat.authz
import rego.v1
decision := {"allow": false, "deny": [sprintf("pod %s/%s container %s via %s", [p.namespace, p.name, p.container, p.source])]} if p := input.facts.pod
`,
    );
    process.env.MOAT_POLICY = policy;
    writeSpec({
      annotations: {
        'io.kubernetes.cri.container-type': 'container',
        'io.kubernetes.cri.sandbox-name': 'web-0',
        'io.kubernetes.cri.sandbox-namespace': 'shop',
        'io.kubernetes.cri.container-name': 'nginx',
      },
    });
    expect(await create()).toBe(1);
    expect(logLines().at(-1)!.msg).toBe(
      'moat-runtime: oci.create denied by rego:data.moat.authz.decision: pod shop/web-0 container nginx via containerd',
    );
  });

  it('fails closed when the policy cannot be evaluated', async () => {
    const broken = path.join(root, 'broken.rego');
    writeFileSync(broken, 'package moat.authz\ndecision := {{{\n');
    process.env.MOAT_POLICY = broken;
    writeSpec();
    expect(await create()).toBe(1);
    expect(runtimeArgs()).toBeNull();
    expect(logLines().at(-1)!.msg).toMatch(/^moat-runtime: the policy could not decide oci\.create: /);
  });

  it('audit mode runs the caller’s spec as it came and logs what it would change', async () => {
    const cfg = path.join(root, 'audit.json');
    writeFileSync(cfg, JSON.stringify({ mode: 'audit' }));
    process.env.MOAT_OCI_CONFIG = cfg;
    writeSpec();
    expect(await create()).toBe(0);
    const got = JSON.parse(readFileSync(`${out}/config.json`, 'utf8'));
    expect(got.linux.seccomp).toBeUndefined();
    expect(got.process.noNewPrivileges).toBeUndefined();
    expect(logLines().map((l) => l.msg)).toContain(
      'moat: audit: would harden process.noNewPrivileges: set to true',
    );
  });

  it('refuses a symlinked config.json, a bad oci.json and --systemd-cgroup, each in the log', async () => {
    writeFileSync(path.join(root, 'elsewhere.json'), '{}');
    symlinkSync(path.join(root, 'elsewhere.json'), path.join(bundle, 'config.json'));
    expect(await create()).toBe(1);
    expect(logLines().at(-1)!.msg).toBe(
      `moat-runtime: ${bundle}/config.json: a symlink (refused: it could name a file outside the bundle)`,
    );
    rmSync(path.join(bundle, 'config.json'));
    writeSpec();
    const cfg = path.join(root, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ mode: 'enforcing' }));
    process.env.MOAT_OCI_CONFIG = cfg;
    expect(await create()).toBe(1);
    expect(logLines().at(-1)!.msg).toBe(`moat-runtime: ${cfg}: "mode" must be one of enforce, audit, off`);
    expect(await create('--systemd-cgroup')).toBe(1);
    expect(logLines().at(-1)!.msg).toMatch(
      /^moat-runtime: --systemd-cgroup is not supported: systemd is not running on this host; configure the caller for cgroupfs/,
    );
    expect(runtimeArgs()).toBeNull();
  });
});

describe('moat-runtime pass-through', () => {
  it('hands state, kill and delete to runc with the same root and normalised flags', async () => {
    expect(await run('--root', '/r', 'state', 'c1')).toBe(0);
    expect(runtimeArgs()).toEqual(['--root=/r', 'state', 'c1']);
    expect(await run('-root=/r', 'kill', 'c1', '15', '--all')).toBe(0);
    expect(runtimeArgs()).toEqual(['--root=/r', 'kill', '--all', 'c1', '15']);
    expect(await run('--root', '/r', 'delete', '-f', 'c1')).toBe(0);
    expect(runtimeArgs()).toEqual(['--root=/r', 'delete', '--force', 'c1']);
  });

  it('exec: --cap outside the allow-list dropped and no_new_privs set; a --process file rewritten', async () => {
    expect(await run('exec', '--cap', 'CAP_SYS_ADMIN', '--cap', 'CAP_KILL', 'c1', 'sh')).toBe(0);
    expect(runtimeArgs()).toEqual(['exec', '--cap=CAP_KILL', '--no-new-privs', 'c1', 'sh']);
    const proc = path.join(bundle, 'process.json');
    const all = ['CAP_SYS_ADMIN', 'CAP_CHOWN'];
    writeFileSync(
      proc,
      JSON.stringify({ args: ['sh'], cwd: '/', capabilities: { bounding: all, effective: all } }),
    );
    writeFileSync(
      fake + '-exec',
      `#!/bin/sh\nfor a in "$@"; do case "$a" in --process=*) cp "\${a#--process=}" "${out}/process.json";; esac; done\n`,
    );
    chmodSync(fake + '-exec', 0o755);
    expect(
      await main([
        'node',
        'moat-runtime',
        '--runtime-binary',
        fake + '-exec',
        'exec',
        '--process',
        proc,
        '-d',
        'c1',
      ]),
    ).toBe(0);
    const got = JSON.parse(readFileSync(`${out}/process.json`, 'utf8'));
    expect(got.capabilities).toEqual({ bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'] });
    expect(got.noNewPrivileges).toBe(true);
  });

  it('refuses an ID runc would refuse before calling it', async () => {
    expect(await run('delete', '../x')).toBe(1);
    expect(runtimeArgs()).toBeNull();
  });
});
