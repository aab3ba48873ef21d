/**
 * Issue 17, Landlock's TCP rules (ABI ≥ 4, which this host's kernel has): `--security-opt
 * landlock-bind=PORTS|declared|none` and `landlock-connect=PORTS|none` let a container bind (resp.
 * connect to) only the TCP ports listed; landlock=strict binds only the declared ports (-p,
 * --expose, EXPOSE). As the non-root test user, with busybox nc on loopback (no outbound network
 * is needed). A refusal is Landlock's EACCES ("Permission denied"), never "Address in use" or
 * "Connection refused": each refused port has a listener, or could have one without the rule.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fetchPage, freePort } from './http-helpers.js';
import { env, IMAGE, moat, sh, uniq } from './moat.js';

const names: string[] = [];
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
});

/**
 * Listens on PORT (in the background), connects to it and prints what came through. Under load
 * the listener may not be up yet: the connect is tried again for 3 s (its refusals unprinted), and
 * the data is waited for as long. The listener's stdin stays open (sleep): busybox nc half-closes
 * at its stdin's end, and a client that sees that first ends before it has sent anything.
 */
const echoVia = (port: number, label: string) =>
  `(sleep 5 | nc -l -p ${port} > /tmp/got-${port} &); c=1; for i in $(seq 30); do ` +
  `if echo ${label} | nc 127.0.0.1 ${port} 2>/dev/null; then c=0; break; fi; sleep 0.1; done; ` +
  `echo "connect${port}=$c"; for i in $(seq 30); do [ -s /tmp/got-${port} ] && break; sleep 0.1; done; ` +
  `cat /tmp/got-${port}`;
/** Tries to listen on PORT: fails at once when the bind is refused (else it would wait). */
const bindFails = (port: number) => `timeout 2 nc -l -p ${port} </dev/null; echo "bind${port}=$?"`;

interface SecurityLandlock {
  landlock: {
    enabled: boolean;
    abi: number;
    mode: string;
    net: { bind: number[] | null; connect: number[] | null };
  };
}
const security = async (name: string) =>
  (JSON.parse((await moat(['inspect', '--security', name])).stdout) as SecurityLandlock[])[0].landlock;

describe('landlock-bind', () => {
  it('landlock-bind=8080: binding 9090 (and an ephemeral port) is EACCES, 8080 binds; without it 9090 binds', async () => {
    const script = `${bindFails(9090)}; timeout 2 nc -l </dev/null; echo "bind0=$?"; ${echoVia(8080, 'via-8080')}`;
    const r = await sh(script, ['--security-opt', 'landlock-bind=8080']);
    expect(r.stdout).toBe('bind9090=1\nbind0=1\nconnect8080=0\nvia-8080\n');
    // Landlock's refusal, twice (9090, then port 0 which is not listed), and nothing else.
    expect(r.stderr).toBe('nc: bind: Permission denied\nnc: bind: Permission denied\n');
    // The same container without the option: 9090 binds (and the connect to it works).
    const free = await sh(echoVia(9090, 'via-9090'));
    expect(free.stdout).toBe('connect9090=0\nvia-9090\n');
    expect(free.stderr).toBe('');
  });

  it('landlock-bind=none: no TCP bind at all; binding port 0 is allowed only when 0 is listed', async () => {
    const none = await sh(bindFails(8080), ['--security-opt', 'landlock-bind=none']);
    expect(none.stdout).toBe('bind8080=1\n');
    expect(none.stderr).toBe('nc: bind: Permission denied\n');
    // Port 0 listed: nc -l (an ephemeral port) listens, so it is still there when timeout ends it.
    const zero = await sh('timeout 1 nc -l </dev/null; echo "bind0=$?"', [
      '--security-opt',
      'landlock-bind=0',
    ]);
    expect(zero.stdout).toBe('bind0=143\n');
    expect(zero.stderr).not.toMatch(/Permission denied/);
  });
});

describe('landlock-connect', () => {
  it('landlock-connect=8080 (both ports bindable): a connect to 9090 is EACCES though it listens, 8080 connects', async () => {
    const script = [
      '(nc -l -p 9090 > /tmp/got-9090 &)',
      echoVia(8080, 'via-8080'),
      'echo no | nc 127.0.0.1 9090; echo "connect9090=$?"',
      // The listener on 9090 was there all along and got nothing.
      'netstat -ltn | grep -c ":9090 "; wc -c < /tmp/got-9090',
    ].join('; ');
    const flags = ['--security-opt', 'landlock-bind=8080,9090', '--security-opt', 'landlock-connect=8080'];
    const r = await sh(script, flags);
    expect(r.stdout).toBe('connect8080=0\nvia-8080\nconnect9090=1\n1\n0\n');
    expect(r.stderr).toBe("nc: can't connect to remote host (127.0.0.1): Permission denied\n");
  });
});

describe('landlock=strict', () => {
  it('-p HOSTPORT:8080: 8080 binds and the host reaches it through the published port; 9090 does not bind', async () => {
    const port = await freePort();
    const name = uniq('llnet-strict');
    names.push(name);
    const script =
      'mkdir -p /tmp/www && echo strict-web > /tmp/www/index.html && ' +
      `(httpd -f -p 8080 -h /tmp/www &); { ${bindFails(9090)}; } > /tmp/bind9090 2>&1; sleep 300`;
    const r = await moat([
      'run',
      '-d',
      '--name',
      name,
      '--security-opt',
      'landlock=strict',
      '-p',
      `127.0.0.1:${port}:8080`,
      IMAGE,
      'sh',
      '-c',
      script,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await fetchPage(port)).toBe('strict-web\n');
    const b = await moat(['exec', name, 'cat', '/tmp/bind9090']);
    expect(b.stdout).toBe('nc: bind: Permission denied\nbind9090=1\n');
    expect(await security(name)).toMatchObject({
      enabled: true,
      mode: 'strict',
      net: { bind: [8080], connect: null },
    });
  });

  it('--expose is declared too; landlock-bind given explicitly takes the place of the declared ports', async () => {
    const exposed = await sh(`${echoVia(7070, 'exposed')}; ${bindFails(8080)}`, [
      '--security-opt',
      'landlock=strict',
      '--expose',
      '7070',
    ]);
    expect(exposed.stdout).toBe('connect7070=0\nexposed\nbind8080=1\n');
    const explicit = await sh(`${echoVia(8080, 'explicit')}; ${bindFails(7070)}`, [
      '--security-opt',
      'landlock=strict',
      '--expose',
      '7070',
      '--security-opt',
      'landlock-bind=8080',
    ]);
    expect(explicit.stdout).toBe('connect8080=0\nexplicit\nbind7070=1\n');
  });
});

describe('moat exec and inspect', () => {
  it('moat exec runs under the same TCP rules; inspect --security and inspect show them', async () => {
    const name = uniq('llnet-exec');
    names.push(name);
    const flags = ['--security-opt', 'landlock-bind=8080', '--security-opt', 'landlock-connect=8080,8443'];
    expect((await moat(['run', '-d', '--name', name, ...flags, IMAGE, 'sleep', '300'])).code).toBe(0);
    const e = await moat(['exec', name, 'sh', '-c', `${bindFails(9090)}; ${echoVia(8080, 'exec-8080')}`]);
    expect(e.stdout).toBe('bind9090=1\nconnect8080=0\nexec-8080\n');
    expect(e.stderr).toBe('nc: bind: Permission denied\n');
    expect(await security(name)).toMatchObject({
      enabled: true,
      net: { bind: [8080], connect: [8080, 8443] },
    });
    const i = JSON.parse((await moat(['inspect', name])).stdout) as {
      HostConfig: { SecurityOpt: string[] };
    }[];
    expect(i[0].HostConfig.SecurityOpt).toEqual(
      expect.arrayContaining(['landlock-bind=8080', 'landlock-connect=8080,8443']),
    );
    // A container without TCP rules: not restricted, as the report says.
    const plain = uniq('llnet-plain');
    names.push(plain);
    expect((await moat(['create', '--name', plain, IMAGE, 'true'])).code).toBe(0);
    expect((await security(plain)).net).toEqual({ bind: null, connect: null });
  });
});

describe('refusals and the policy', () => {
  it('a bad port list or landlock=off with a TCP rule is refused before anything is made', async () => {
    const bad = await moat(['run', '--rm', '--security-opt', 'landlock-bind=80,99999', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /invalid --security-opt landlock-bind=80,99999: port 99999 is out of range \(0-65535\) \[RUNTIME_INVALID_OPTION\]/,
    );
    const off = await moat([
      'run',
      '--rm',
      '--security-opt',
      'landlock=off',
      '--security-opt',
      'landlock-connect=443',
      IMAGE,
      'true',
    ]);
    expect(off.code).not.toBe(0);
    expect(off.stderr).toMatch(/conflicting options: --security-opt landlock=off and landlock-connect=/);
    expect(off.stderr).toMatch(/RUNTIME_INVALID_OPTION/);
  });

  it('data.moat.require_landlock_net_bind refuses a container that may bind any port', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-llnet-'));
    const data = path.join(dir, 'data.json');
    writeFileSync(data, JSON.stringify({ moat: { require_landlock_net_bind: true } }));
    const e = { ...env(), MOAT_POLICY: `${path.join(inject('moatEnv').root, 'policies')}:${data}` };
    const denied = await moat(['run', '--rm', IMAGE, 'true'], { env: e });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/a TCP bind rule is required \(data\.moat\.require_landlock_net_bind\)/);
    const ok = await moat(['run', '--rm', '--security-opt', 'landlock-bind=none', IMAGE, 'true'], { env: e });
    expect(ok.code, ok.stderr).toBe(0);
    const strict = await moat(['run', '--rm', '--security-opt', 'landlock=strict', IMAGE, 'true'], {
      env: e,
    });
    expect(strict.code, strict.stderr).toBe(0);
  });
});

describe("moat-init's port options (the binary itself, on the host as the test user)", () => {
  const init = () => path.join(inject('moatEnv').root, 'dist/native/moat-init');
  const run = (args: string[]) => {
    const r = spawnSync(init(), args, { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  it.each([
    [['--landlock-bind', '65536'], '--landlock-bind: a port is above 65535'],
    [['--landlock-bind', '123456'], '--landlock-bind: a port is above 65535'],
    [['--landlock-connect', '080'], '--landlock-connect: a port has a leading zero'],
    [['--landlock-bind', '80,'], '--landlock-bind: expected a port number (or none)'],
    [['--landlock-bind', ''], '--landlock-bind: expected a port number (or none)'],
    [['--landlock-bind', '+80'], '--landlock-bind: expected a port number (or none)'],
    [['--landlock-bind', '80 81'], '--landlock-bind: ports are separated by commas'],
    [['--landlock-bind', '80', '--landlock-bind', '81'], '--landlock-bind: given twice'],
    [
      ['--landlock-off', '--landlock-connect', 'none'],
      '--landlock-off and --landlock-bind/--landlock-connect exclude each other',
    ],
    // `--` is not taken for the end of the options there: it is not a port list.
    [['--landlock-bind'], '--landlock-bind: expected a port number (or none)'],
  ])('refuses %j with status 125 and says why', (args, why) => {
    const r = run([...args, '--', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe(`moat-init: ${why}`);
  });
  it('refuses a port option with nothing after it', () => {
    const r = run(['--landlock-connect']);
    expect(r.code).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe('moat-init: a Landlock port option needs PORTS');
  });
  it('applies what it is given: connect only to the ports listed', () => {
    // No listener anywhere is needed: Landlock refuses before the network stack (EACCES), where
    // an allowed port with nothing listening is ECONNREFUSED.
    const js =
      "const n=require('net');for(const p of [1,2]){const s=n.connect(p,'127.0.0.1');" +
      "s.on('error',e=>console.log(p,e.code))}";
    const r = run(['--landlock-write', '/', '--landlock-connect', '1', '--', process.execPath, '-e', js]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['1 ECONNREFUSED', '2 EACCES']);
  });
});
