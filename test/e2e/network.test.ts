/**
 * Issue 16, networks: `--network slirp4netns` and `pasta` give a container a network; `-p` publishes
 * busybox httpd on the host's 127.0.0.1, fetched with a real HTTP client (Node's); `-P` publishes
 * the image's EXPOSEd port on a free one; `moat port` and `docker port` print the mappings; the
 * host's loopback stays out of reach; the default stays loopback-only; /etc/hosts and resolv.conf
 * carry --add-host, --hostname and --dns; the stack goes when the container does. As the
 * non-root test user (CI makes /dev/net/tun usable, as distributions ship it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildOciLayoutTar } from '../unit/image/helpers.js';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { fetchPage, freePort } from './http-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

for (const t of ['docker', 'slirp4netns', 'pasta'])
  if (!have(t)) throw new Error(`${t} is needed for the network tests (apt-get install slirp4netns passt)`);

let w: World;
let svc: Service;
const names: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HTTPD = 'mkdir -p /tmp/www && echo "$MSG" > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www';

async function serve(args: string[], msg: string): Promise<string> {
  const name = uniq('web');
  names.push(name);
  const r = await moat(['run', '-d', '--name', name, '-e', `MSG=${msg}`, ...args, IMAGE, 'sh', '-c', HTTPD]);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

/** The user's running stacks of a kind (pasta runs as passt.avx2 or passt). */
const stacksOf = (mode: string) => {
  try {
    return execFileSync(
      'pgrep',
      ['-u', String(process.getuid?.()), mode === 'pasta' ? '^pas(ta|st)' : '^slirp4netns$'],
      {
        encoding: 'utf8',
      },
    )
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
};

beforeAll(async () => {
  w = mainWorld('network');
  svc = await startService(w);
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (svc) await stopService(svc);
});

describe('published ports', () => {
  for (const mode of ['slirp4netns', 'pasta'])
    it(`--network ${mode} -p 127.0.0.1:PORT:80: busybox httpd answers the host; moat port; rm -f stops the stack`, async () => {
      const port = await freePort();
      const before = stacksOf(mode).length;
      const name = await serve(['--network', mode, '-p', `127.0.0.1:${port}:80`], `hello from ${mode}`);
      expect(await fetchPage(port)).toBe(`hello from ${mode}\n`);
      expect((await moat(['port', name])).stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
      expect((await moat(['port', name, '80'])).stdout).toBe(`127.0.0.1:${port}\n`);
      expect(stacksOf(mode).length).toBe(before + 1);
      expect((await moat(['rm', '-f', name])).code).toBe(0);
      for (let i = 0; i < 50 && stacksOf(mode).length > before; i++) await sleep(100);
      expect(stacksOf(mode).length).toBe(before);
    });

  it('-p without --network means slirp4netns; -P publishes the EXPOSEd port on a free one', async () => {
    const dir = path.join(inject('moatEnv').base, uniq('expose'));
    mkdirSync(dir, { recursive: true });
    const busybox = (await import('node:fs')).readFileSync('/bin/busybox');
    const ref = `localhost/${uniq('exposed')}:1`;
    const { tar } = await buildOciLayoutTar({
      layers: [
        [
          { path: 'bin/', type: 'directory' },
          { path: 'bin/busybox', content: busybox, mode: 0o755 },
          ...['sh', 'httpd', 'mkdir', 'echo'].map((a) => ({
            path: `bin/${a}`,
            type: 'symlink' as const,
            linkname: 'busybox',
          })),
          { path: 'tmp/', type: 'directory', mode: 0o1777 },
        ],
      ],
      refName: ref,
      runtime: {
        ExposedPorts: { '80/tcp': {} },
        Cmd: [
          'sh',
          '-c',
          'mkdir -p /tmp/www && echo exposed > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www',
        ],
      },
    });
    writeFileSync(path.join(dir, 'img.tar'), tar);
    expect((await moat(['load', '-i', path.join(dir, 'img.tar')])).code).toBe(0);
    const name = uniq('pub-all');
    names.push(name);
    const r = await moat(['run', '-d', '--name', name, '-P', ref]);
    expect(r.code, r.stderr).toBe(0);
    const line = (await moat(['port', name])).stdout;
    const m = /^80\/tcp -> 127\.0\.0\.1:(\d+)\n$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(await fetchPage(Number(m![1]))).toBe('exposed\n');
    const info = JSON.parse((await moat(['inspect', name])).stdout)[0] as { options: { network: string } };
    expect(info.options.network).toBe('slirp4netns');
  });

  it("the host's loopback is out of reach from a container with a network", async () => {
    let hits = 0;
    const host: Server = createServer((_q, s) => {
      hits++;
      s.end('host secret');
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
    const port = (host.address() as { port: number }).port;
    try {
      for (const mode of ['slirp4netns', 'pasta']) {
        // slirp4netns's gateway (10.0.2.2) and pasta's (the host's default route) would lead to it.
        const r = await moat([
          'run',
          '--rm',
          '--network',
          mode,
          IMAGE,
          'sh',
          '-c',
          `for h in 10.0.2.2 192.0.2.1 127.0.0.1 $(ip route | sed -n 's/^default via \\([^ ]*\\).*/\\1/p'); do wget -q -O- -T 2 http://$h:${port}/ 2>&1; done; true`,
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).not.toContain('host secret');
      }
      expect(hits).toBe(0);
    } finally {
      host.close();
    }
  });
});

describe('the container side', () => {
  it('the default network is loopback only; --network none refuses -p', async () => {
    const r = await moat(['run', '--rm', IMAGE, 'sh', '-c', 'ls /sys/class/net']);
    expect(r.stdout.trim()).toBe('lo');
    const bad = await moat(['run', '--rm', '--network', 'none', '-p', '8080:80', IMAGE, 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/publishing ports needs a network/);
    const unknown = await moat(['run', '--rm', '--network', 'mynet', IMAGE, 'true']);
    expect(unknown.stderr).toMatch(/no such network: mynet/);
  });

  it("/etc/hosts has --hostname and --add-host; /etc/resolv.conf has --dns or the stack's resolver", async () => {
    const r = await moat([
      'run',
      '--rm',
      '--network',
      'slirp4netns',
      '--hostname',
      'box1',
      '--add-host',
      'db.internal:192.0.2.10',
      '--dns',
      '192.0.2.53',
      IMAGE,
      'sh',
      '-c',
      'cat /etc/hosts /etc/resolv.conf; hostname',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/127\.0\.1\.1\tbox1\n/);
    expect(r.stdout).toMatch(/192\.0\.2\.10\tdb\.internal\n/);
    expect(r.stdout).toMatch(/nameserver 192\.0\.2\.53\n/);
    expect(r.stdout).toMatch(/box1\n$/);
    const d = await moat(['run', '--rm', '--network', 'slirp4netns', IMAGE, 'cat', '/etc/resolv.conf']);
    expect(d.stdout).toBe('nameserver 10.0.2.3\n');
  });
});

describe('moat network and docker network', () => {
  // User-defined networks (other files make them at the same time) are networks-user.test.ts's.
  it('list the built-in networks, each available here', async () => {
    const ls = JSON.parse((await moat(['network', 'ls', '--format', 'json'])).stdout) as {
      Name: string;
      Available: boolean;
      BuiltIn: boolean;
    }[];
    expect(ls.filter((n) => n.BuiltIn).map((n) => [n.Name, n.Available])).toEqual([
      ['none', true],
      ['slirp4netns', true],
      ['pasta', true],
    ]);
    const d = docker(svc, w, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    expect(d.code, d.stderr).toBe(0);
    const builtIn = d.stdout.split('\n').filter((l) => l && !l.endsWith(' bridge'));
    expect(builtIn.sort()).toEqual(['none null', 'pasta pasta', 'slirp4netns slirp4netns']);
    expect(JSON.parse(docker(svc, w, ['network', 'inspect', 'pasta']).stdout)[0].Driver).toBe('pasta');
    expect(docker(svc, w, ['network', 'inspect', 'nope']).code).not.toBe(0);
  });
});

describe('docker run -p and docker port against the service', () => {
  it('publishes, answers, and docker port names the mapping', async () => {
    const port = await freePort();
    const name = uniq('dk-web');
    names.push(name);
    const r = docker(svc, w, [
      'run',
      '-d',
      '--name',
      name,
      '-e',
      'MSG=via docker',
      '-p',
      `${port}:80`,
      IMAGE,
      'sh',
      '-c',
      HTTPD,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await fetchPage(port)).toBe('via docker\n');
    expect(docker(svc, w, ['port', name]).stdout).toContain(`80/tcp -> 127.0.0.1:${port}`);
    const refused = docker(svc, w, ['run', '--rm', '--network', uniq('nosuchnet'), IMAGE, 'true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no such network/i);
  });
});
