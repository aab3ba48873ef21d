/**
 * The HTTP API on a unix socket (`moat system service`), driven by the real docker CLI and by
 * raw HTTP: the same router, the same policy, the same store as the CLI; real runc underneath.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makePki } from '../helpers/pki.js';
import { docker, http, startService, stopService, type Service } from './api-helpers.js';
import { bin, IMAGE, uniq } from './moat.js';
import { have, mainWorld, startRegistry, world, type Registry, type World } from './registry-helpers.js';

// The docker CLI is on these machines; without it this suite fails rather than skipping.
if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;

beforeAll(async () => {
  w = mainWorld('api');
  svc = await startService(w);
});
afterAll(async () => {
  if (svc) await stopService(svc);
});

describe('moat system service: the docker CLI', () => {
  it('the socket is 0600; version and info come from moat', () => {
    expect(statSync(svc.socket).mode & 0o777).toBe(0o600);
    const v = docker(svc, w, ['version', '--format', '{{.Server.Platform.Name}} {{.Server.APIVersion}}']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe('moat 1.41');
    const i = docker(svc, w, ['info', '--format', '{{.Driver}} {{.OSType}}']);
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout.trim()).toBe('overlay linux');
  });

  it('docker run --rm: output on the right streams, the exit code, the container removed', () => {
    const name = uniq('api-rm');
    const r = docker(svc, w, [
      'run',
      '--rm',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'echo out; echo err >&2; exit 7',
    ]);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(7);
    expect(docker(svc, w, ['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain(name);
  });

  it('containers it runs are hardened as from the CLI', () => {
    const r = docker(svc, w, [
      'run',
      '--rm',
      IMAGE,
      'sh',
      '-c',
      'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/self/uid_map; touch /x 2>&1; true',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(r.stdout).toMatch(/Seccomp:\s+2/);
    expect(r.stdout).toMatch(/Read-only file system/);
    // Container root maps to the caller's own ID or a subordinate one, never to host root.
    const map = /^\s*0\s+(\d+)\s+\d+/m.exec(r.stdout);
    expect(map).not.toBeNull();
    expect(Number(map![1])).not.toBe(0);
  });

  it('create, start, wait, logs, ps, inspect, rm — and moat sees the same containers', () => {
    const name = uniq('api-life');
    const c = docker(svc, w, [
      'create',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'echo hello; echo oops >&2; exit 3',
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(docker(svc, w, ['start', name]).code).toBe(0);
    const wait = docker(svc, w, ['wait', name]);
    expect(wait.stdout.trim()).toBe('3');
    const logs = docker(svc, w, ['logs', name]);
    expect(logs.stdout).toBe('hello\n');
    expect(logs.stderr).toBe('oops\n');
    expect(
      docker(svc, w, ['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}']).stdout,
    ).toMatch(new RegExp(`${name} Exited \\(3\\)`));
    const inspect = docker(svc, w, [
      'inspect',
      name,
      '--format',
      '{{.State.Status}} {{.State.ExitCode}} {{.HostConfig.ReadonlyRootfs}}',
    ]);
    expect(inspect.stdout.trim()).toBe('exited 3 true');
    // The CLI, in-process, reads the same store.
    const ps = spawnSync(process.execPath, [bin(), 'ps', '-a', '--format', 'json'], {
      env: w.env,
      encoding: 'utf8',
    });
    expect(ps.stdout).toContain(name);
    expect(docker(svc, w, ['rm', name]).code).toBe(0);
    expect(docker(svc, w, ['inspect', name]).code).not.toBe(0);
  });

  it('--security-opt apparmor=unconfined runs, as the CLI (the policy sees it: facts.run.apparmor_profile)', () => {
    const r = docker(svc, w, ['run', '--rm', '--security-opt', 'apparmor=unconfined', IMAGE, 'echo', 'ok']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ok\n');
  });

  it('run -d, stop (TERM, then KILL after -t), rm', () => {
    const name = uniq('api-bg');
    const r = docker(svc, w, ['run', '-d', '--name', name, IMAGE, 'sleep', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(docker(svc, w, ['ps', '--format', '{{.Names}} {{.State}}']).stdout).toContain(`${name} running`);
    expect(docker(svc, w, ['stop', '-t', '1', name]).code).toBe(0);
    // sleep as PID 1 ignores TERM: killed after the timeout.
    expect(docker(svc, w, ['inspect', name, '--format', '{{.State.ExitCode}}']).stdout.trim()).toBe('137');
    expect(docker(svc, w, ['rm', name]).code).toBe(0);
  });

  it('refuses what would loosen the isolation, and what the policy denies, with a message', () => {
    // -i and -t are served (api-interactive.test.ts).
    const cases: [string[], RegExp][] = [
      [['--privileged'], /--privileged is not supported by moat/],
      [['--pid', 'host'], /--pid=host is not supported/],
      [['--network', 'host'], /--network=host is not supported/],
      [['--security-opt', 'seccomp=unconfined'], /--security-opt seccomp=unconfined is not supported/],
      // A profile by name is taken, and refused by the engine here: this kernel has no AppArmor.
      [
        ['--security-opt', 'apparmor=moat-x'],
        /--security-opt apparmor=moat-x: AppArmor is not enabled on this host, so no profile can be applied/,
      ],
      [['--cap-add', 'SYS_ADMIN'], /denied by .*capability SYS_ADMIN is not allowed/],
      [['-v', '/etc:/h'], /denied by .*mounting host path \/etc is not allowed/],
    ];
    for (const [flags, msg] of cases) {
      const r = docker(svc, w, ['run', '--rm', ...flags, IMAGE, 'true']);
      expect(r.code, flags.join(' ')).toBe(125);
      expect(r.stderr, flags.join(' ')).toMatch(msg);
    }
  });

  it('refuses, never drops, what moat has no counterpart for (--link, volume drivers, ...)', () => {
    // --mount, --cpu-quota, --sysctl, -p, volumes and the like are applied (api-options, volumes,
    // network tests).
    const cases: [string[], RegExp][] = [
      // a user-defined network that does not exist (docker-networks.test.ts runs them)
      [['--network', 'mynet'], /no such network: mynet/],
      [
        ['--mount', 'type=volume,src=data,dst=/x,volume-driver=nfs'],
        /--mount volume-driver=nfs is not supported by moat/,
      ],
      [['--cpu-shares', '512'], /--cpu-shares is not supported by moat: use --cpus/],
      [['--link', 'other:db'], /--link is not supported/],
    ];
    for (const [flags, msg] of cases) {
      const name = uniq('api-refused');
      const r = docker(svc, w, ['create', '--name', name, ...flags, IMAGE, 'true']);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.stderr, flags.join(' ')).toMatch(msg);
      expect(docker(svc, w, ['inspect', name]).code, `${flags.join(' ')} created nothing`).toBe(1);
    }
    // Pulling every tag, and another platform than the host's, are refused before any network.
    const all = docker(svc, w, ['pull', '-a', '127.0.0.1:9/no/such']);
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/docker pull -a \(every tag\) is not supported by moat: name the tag/);
    const foreign = docker(svc, w, ['pull', '--platform', 'linux/s390x', '127.0.0.1:9/no/such:1']);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/--platform linux\/s390x is not supported by moat/);
    const create = docker(svc, w, ['create', '--platform', 'linux/s390x', IMAGE, 'true']);
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/--platform linux\/s390x is not supported by moat/);
    // Docker's defaults stated explicitly pass.
    const ok = docker(svc, w, ['run', '--rm', '--restart', 'no', '--network', 'none', IMAGE, 'true']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an unknown container is "No such object"', () => {
    const r = docker(svc, w, ['inspect', 'no-such-container-here']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No such object/);
  });
});

describe('moat system service: pulls through the API', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('docker pull from a local registry, then docker run and rmi, in a fresh store', async () => {
    const ref = `${reg.host}/api/busybox:1`;
    expect((await w.moat(['tag', IMAGE, ref])).code).toBe(0);
    const push = await w.moat(['push', '-q', ref]);
    expect(push.code, push.stderr).toBe(0);
    const fresh = world('api-pull');
    const s = await startService(fresh);
    try {
      const pull = docker(s, fresh, ['pull', ref]);
      expect(pull.code, pull.stderr).toBe(0);
      expect(pull.stdout).toMatch(/Digest: sha256:[0-9a-f]{64}/);
      expect(docker(s, fresh, ['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout).toContain(ref);
      const run = docker(s, fresh, ['run', '--rm', ref, 'echo', 'pulled and ran']);
      expect(run.stdout).toBe('pulled and ran\n');
      const rmi = docker(s, fresh, ['rmi', ref]);
      expect(rmi.code, rmi.stderr).toBe(0);
      expect(rmi.stdout).toContain(`Untagged: ${ref}`);
    } finally {
      await stopService(s);
    }
  });
});

describe('moat system service: one request path, one policy', () => {
  it('a custom policy decides API requests and sees them as via "api"', async () => {
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "no container lists over the API" if {
  input.action == "container.list"
  input.subject.via == "api"
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'api-policy.sock');
    try {
      const ps = docker(s, w, ['ps']);
      expect(ps.code).not.toBe(0);
      expect(ps.stderr).toMatch(/container.list denied by .*no container lists over the API/);
      expect(docker(s, w, ['images']).code).toBe(0);
      // The same policy lets the CLI list (via "cli").
      const cli = spawnSync(process.execPath, [bin(), 'ps'], {
        env: { ...w.env, MOAT_POLICY: dir },
        encoding: 'utf8',
      });
      expect(cli.status, cli.stderr).toBe(0);
    } finally {
      await stopService(s);
    }
  });

  it("moat's own API under /v1: JSON in and out, stable error codes, bad input refused", async () => {
    const images = await http(svc, 'GET', '/v1/images');
    expect(images.status).toBe(200);
    expect(
      (JSON.parse(images.body) as { names: string[] }[]).some((i) => i.names.some((n) => n.includes(IMAGE))),
    ).toBe(true);
    const bad = await http(svc, 'POST', '/v1/containers/create', '{"options": ');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'API_INVALID_REQUEST' });
    const invalid = await http(
      svc,
      'POST',
      '/v1/containers/create',
      JSON.stringify({ options: { image: IMAGE, bogus: 1 } }),
    );
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({ code: 'API_INVALID_REQUEST' });
    const none = await http(svc, 'GET', '/v1/no/such/route');
    expect(none.status).toBe(404);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'API_NOT_FOUND' });
    const missing = await http(svc, 'GET', '/v1/containers/no-such-container/json');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'RUNTIME_CONTAINER_NOT_FOUND' });
    const ping = await http(svc, 'GET', '/_ping');
    expect(ping.body).toBe('OK');
    expect(ping.headers['api-version']).toBe('1.41');
  });

  it('a second service on a live socket is refused', () => {
    const again = spawnSync(process.execPath, [bin(), 'system', 'service', '--socket', svc.socket], {
      env: w.env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/API_SOCKET_IN_USE|another server is listening/);
  });
});

describe('moat system service --tcp: mutual TLS', () => {
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });

  async function startTcp(
    dir: string,
    port: number,
    extraEnv: NodeJS.ProcessEnv = {},
  ): Promise<ChildProcess> {
    let log = '';
    const proc = spawn(
      process.execPath,
      [
        bin(),
        'system',
        'service',
        '--tcp',
        `127.0.0.1:${port}`,
        '--tls-cert',
        path.join(dir, 'server.pem'),
        '--tls-key',
        path.join(dir, 'server-key.pem'),
        '--tls-ca',
        path.join(dir, 'ca.pem'),
      ],
      { env: { ...w.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    for (let i = 0; i < 100 && !/serving the API/.test(log); i++) await new Promise((r) => setTimeout(r, 50));
    if (!/serving the API/.test(log)) throw new Error(`the TCP service did not start: ${log}`);
    return proc;
  }
  const stop = async (p: ChildProcess) => {
    if (p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };

  it('needs a client certificate from the CA; the default policy admits only listed remote users', async () => {
    const pki = makePki();
    const dir = path.join(w.env.HOME!, uniq('tls'));
    const clientDir = path.join(dir, 'client');
    mkdirSync(clientDir, { recursive: true });
    writeFileSync(path.join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(path.join(dir, 'server-key.pem'), pki.server.key, { mode: 0o600 });
    writeFileSync(path.join(dir, 'ca.pem'), pki.caPem);
    const alice = pki.client('alice');
    writeFileSync(path.join(clientDir, 'ca.pem'), pki.caPem);
    writeFileSync(path.join(clientDir, 'cert.pem'), alice.cert);
    writeFileSync(path.join(clientDir, 'key.pem'), alice.key, { mode: 0o600 });
    const port = await freePort();
    const dockerTcp = (args: string[]) => {
      const r = spawnSync('docker', args, {
        env: {
          ...w.env,
          DOCKER_HOST: `tcp://127.0.0.1:${port}`,
          DOCKER_TLS_VERIFY: '1',
          DOCKER_CERT_PATH: clientDir,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    };

    // The default policy: a remote subject not listed in data.moat.remote_users is refused.
    let proc = await startTcp(dir, port);
    try {
      const ps = dockerTcp(['ps']);
      expect(ps.code).not.toBe(0);
      expect(ps.stderr).toMatch(/container.list denied by .*remote subject not allowed/);
      // Without a client certificate the TLS handshake itself fails: no request gets in.
      const anon = await new Promise<string>((resolve) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/_ping', ca: pki.caPem }, (res) =>
          resolve(`answered ${res.statusCode}`),
        );
        req.on('error', (e) => resolve(`refused: ${e.message}`));
        req.end();
      });
      expect(anon).toMatch(/^refused/);
    } finally {
      await stop(proc);
    }

    // Listed in the policy's data: alice may use the API.
    writeFileSync(path.join(dir, 'remote.json'), JSON.stringify({ moat: { remote_users: ['alice'] } }));
    const policies = path.join(inject('moatEnv').root, 'policies');
    proc = await startTcp(dir, port, { MOAT_POLICY: `${policies}:${path.join(dir, 'remote.json')}` });
    try {
      expect(dockerTcp(['ps']).code).toBe(0);
      const run = dockerTcp(['run', '--rm', IMAGE, 'echo', 'over mutual TLS']);
      expect(run.stdout, run.stderr).toBe('over mutual TLS\n');
      // The default policy's other rules still apply to a listed remote user.
      const cap = dockerTcp(['run', '--rm', '--cap-add', 'SYS_ADMIN', IMAGE, 'true']);
      expect(cap.stderr).toMatch(/capability SYS_ADMIN is not allowed/);
    } finally {
      await stop(proc);
    }
  });

  it('refuses to serve TCP without TLS, with a usage error', () => {
    const r = spawnSync(process.execPath, [bin(), 'system', 'service', '--tcp', '127.0.0.1:2376'], {
      env: w.env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/never served on plain TCP/);
  });
});
