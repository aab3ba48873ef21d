/**
 * Issue 16, user-defined networks, as the non-root test user: two containers on one network, one
 * serving busybox httpd, the other fetching it by name and by --network-alias; the address kept
 * across a restart and peers' /etc/hosts kept current; an --internal network has no route out
 * (tried against a listener on the host's 127.0.0.1, which a network allowing the host's loopback
 * reaches); two networks cannot reach each other until a running container is connected to both;
 * --network container:NAME shares a network namespace; create/rm/prune refuse what they must.
 * Networks here carry a label of this file, so a prune elsewhere never takes them (and the prune
 * here takes only them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { env, IMAGE, moat, uniq } from './moat.js';
import { have } from './registry-helpers.js';

for (const t of ['ip', 'slirp4netns'])
  if (!have(t))
    throw new Error(`${t} is needed for the user-network tests (apt-get install iproute2 slirp4netns)`);

const LABEL = `moat-e2e=${uniq('netfile')}`;
const containers: string[] = [];
const networks: string[] = [];
const PORT = 8080;
const HTTPD = `mkdir -p /tmp/www && echo "$MSG" > /tmp/www/index.html && exec httpd -f -p ${PORT} -h /tmp/www`;
/** Fetch a URL from inside a container, retried while the server starts (busybox wget, no -T). */
const fetchLoop = (url: string) =>
  `(for i in $(seq 1 60); do wget -qO- ${url} && exit 0; sleep 0.1; done; exit 1)`;

async function network(...flags: string[]): Promise<string> {
  const name = uniq('net');
  const r = await moat(['network', 'create', '--label', LABEL, ...flags, name]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  networks.push(name);
  return name;
}

async function serve(net: string, msg: string, extra: string[] = []): Promise<string> {
  const name = uniq('web');
  containers.push(name);
  const r = await moat([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    net,
    '-e',
    `MSG=${msg}`,
    ...extra,
    IMAGE,
    'sh',
    '-c',
    HTTPD,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

async function sleeper(args: string[]): Promise<string> {
  const name = uniq('cli');
  containers.push(name);
  const r = await moat(['run', '-d', '--name', name, ...args, IMAGE, 'sleep', '600']);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

interface Inspected {
  Name: string;
  Id: string;
  Subnet: string;
  Gateway: string;
  Internal: boolean;
  BuiltIn: boolean;
  Labels: Record<string, string>;
  Endpoints: { Name: string; IPv4Address: string; Aliases: string[]; Running: boolean }[];
}

async function inspect(net: string): Promise<Inspected> {
  const r = await moat(['network', 'inspect', net]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Inspected[])[0];
}

const ipOf = async (net: string, container: string) =>
  (await inspect(net)).Endpoints.find((e) => e.Name === container)?.IPv4Address.split('/')[0];

const execSh = (c: string, script: string) => moat(['exec', c, 'sh', '-c', script]);
const run = (flags: string[], script: string) => moat(['run', '--rm', ...flags, IMAGE, 'sh', '-c', script]);

afterAll(async () => {
  if (containers.length) await moat(['rm', '-f', ...containers]);
  for (const n of networks) await moat(['network', 'rm', '-f', n]);
});

describe('a user-defined network', () => {
  it('two containers reach each other by name and by alias; the address is kept across a restart; peers see /etc/hosts change', async () => {
    const net = await network();
    const info = await inspect(net);
    expect(info).toMatchObject({ Name: net, BuiltIn: false, Internal: false });
    expect(info.Labels).toMatchObject({ [LABEL.split('=')[0]]: LABEL.split('=')[1] });
    expect(info.Subnet).toMatch(/^10\.89\.\d+\.0\/24$/);
    const alias = uniq('www');
    const web = await serve(net, 'hello-by-name', ['--network-alias', alias]);
    const r = await run(
      ['--network', net],
      `${fetchLoop(`http://${web}:${PORT}/`)} && ${fetchLoop(`http://${alias}:${PORT}/`)}`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello-by-name\nhello-by-name\n');

    const ip = await ipOf(net, web);
    expect(ip).toMatch(/^10\.89\.\d+\.\d+$/);
    const peer = await sleeper(['--network', net]);
    const hosts = await execSh(peer, 'cat /etc/hosts');
    expect(hosts.stdout).toContain(`${ip}\t${web} ${alias}`);
    // Restarted: the same address, and still served by name.
    expect((await moat(['restart', '-t', '1', web])).code).toBe(0);
    expect(await ipOf(net, web)).toBe(ip);
    const again = await execSh(peer, fetchLoop(`http://${web}:${PORT}/`));
    expect(again.stdout).toBe('hello-by-name\n');
    // Removed: the running peer's /etc/hosts no longer names it.
    expect((await moat(['rm', '-f', web])).code).toBe(0);
    const after = await execSh(peer, 'cat /etc/hosts');
    expect(after.stdout).not.toContain(web);
    expect(after.stdout).toContain('127.0.0.1\tlocalhost');
    expect((await inspect(net)).Endpoints.map((e) => e.Name)).toEqual([peer]);
    // Renamed: found by its new name.
    const renamed = uniq('renamed');
    containers.push(renamed);
    expect((await moat(['rename', peer, renamed])).code).toBe(0);
    expect((await execSh(renamed, 'cat /etc/hosts')).stdout).toMatch(new RegExp(`\t${renamed} `));
  });

  it('--internal has no route out: the host’s 127.0.0.1 listener is reached only from a network allowing it', async () => {
    let server: Server | undefined;
    try {
      server = createServer((_req, res) => res.end('host-loopback-token'));
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as { port: number }).port;
      const open = await network('-o', 'allow_host_loopback=true');
      const internal = await network('--internal', '-o', 'allow_host_loopback=true');
      expect((await inspect(internal)).Internal).toBe(true);
      // The positive control: the same listener, reached through the outbound link.
      const ok = await run(['--network', open], `wget -qO- http://10.0.2.2:${port}/`);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe('host-loopback-token');
      const no = await run(
        ['--network', internal],
        `ip route; wget -qO- http://10.0.2.2:${port}/; echo "wget=$?"`,
      );
      expect(no.stdout).not.toContain('host-loopback-token');
      expect(no.stdout).not.toMatch(/default/);
      expect(no.stdout).toContain('wget=1');
      expect(no.stderr).toMatch(/unreachable/i);
      // Nothing to publish from where nothing reaches.
      const p = await moat(['run', '--rm', '--network', internal, '-p', '127.0.0.1:0:80', IMAGE, 'true']);
      expect(p.code).not.toBe(0);
      expect(p.stderr).toMatch(/internal/);
    } finally {
      server?.close();
    }
  });

  it('two networks cannot reach each other; a running container connected to both can, and not after disconnect', async () => {
    const a = await network('--internal');
    const b = await network('--internal');
    const web = await serve(a, 'only-on-a');
    const ipA = await ipOf(a, web);
    const client = await sleeper(['--network', b]);
    // Serving is up (seen from its own network) before the other network is tried.
    expect((await run(['--network', a], fetchLoop(`http://${web}:${PORT}/`))).stdout).toBe('only-on-a\n');
    const cut = await execSh(
      client,
      `nc -w 2 ${ipA} ${PORT} </dev/null; echo "nc=$?"; wget -qO- http://${web}:${PORT}/; echo "wget=$?"`,
    );
    expect(cut.stdout).toContain('nc=1');
    expect(cut.stdout).toContain('wget=1');
    expect(cut.stdout).not.toContain('only-on-a');

    const c = await moat(['network', 'connect', '--alias', 'second-name', a, client]);
    expect(c.code, c.stderr).toBe(0);
    const joined = await execSh(
      client,
      `ip -o -4 addr show | grep -c 'inet 10.89' ; ${fetchLoop(`http://${web}:${PORT}/`)}`,
    );
    expect(joined.stdout).toBe('2\nonly-on-a\n');
    // The server's /etc/hosts names it by its alias on a.
    expect((await execSh(web, 'cat /etc/hosts')).stdout).toMatch(/\tcli-[^\n]* second-name /);

    const d = await moat(['network', 'disconnect', a, client]);
    expect(d.code, d.stderr).toBe(0);
    const left = await execSh(
      client,
      `nc -w 2 ${ipA} ${PORT} </dev/null; echo "nc=$?"; grep -c ${web} /etc/hosts`,
    );
    expect(left.stdout).toBe('nc=1\n0\n');
    const again = await moat(['network', 'disconnect', a, client]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/is not on network/);
  });

  it('a running container with a namespace of its own is connected from its next start', async () => {
    const net = await network('--internal');
    const web = await serve(net, 'next-start');
    const own = await sleeper(['--network', 'none']);
    const live = await moat(['network', 'connect', net, own]);
    expect(live.code).not.toBe(0);
    expect(live.stderr).toMatch(/user namespace of its own/);
    expect(live.stderr).toMatch(/stop it/);
    expect((await moat(['stop', '-t', '1', own])).code).toBe(0);
    expect((await moat(['network', 'connect', net, own])).code).toBe(0);
    expect((await moat(['start', own])).code).toBe(0);
    const r = await execSh(own, fetchLoop(`http://${web}:${PORT}/`));
    expect(r.stdout).toBe('next-start\n');
  });

  it('--network container:NAME shares its network namespace (and its /etc/hosts)', async () => {
    const net = await network('--internal');
    const web = await serve(net, 'shared-ns');
    const r = await run(
      ['--network', `container:${web}`],
      `${fetchLoop(`http://127.0.0.1:${PORT}/`)}; ip -o -4 addr show | grep -c 10.89`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('shared-ns\n1\n');
    const p = await moat(['run', '--rm', '--network', `container:${web}`, '-p', '8081:80', IMAGE, 'true']);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/container:/);
    const stopped = uniq('stopped');
    containers.push(stopped);
    expect((await moat(['create', '--name', stopped, IMAGE, 'true'])).code).toBe(0);
    const s = await moat(['run', '--rm', '--network', `container:${stopped}`, IMAGE, 'true']);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toMatch(/is not running/);
  });
});

describe('managing networks', () => {
  it('create refuses a taken or reserved name and a bad or overlapping subnet; run refuses an unknown network', async () => {
    const net = await network('--subnet', '10.97.0.0/24');
    expect((await inspect(net)).Subnet).toBe('10.97.0.0/24');
    const cases: [string[], RegExp][] = [
      [[net], /already exists/],
      [['none'], /built-in/],
      [['--subnet', '10.97.0.128/25', uniq('n')], /overlaps network/],
      [['--subnet', '10.0.2.0/24', uniq('n')], /slirp4netns/],
      [['--subnet', '10.97.1.1/24', uniq('n')], /CIDR/],
      [['--subnet', '10.0.0.0/8', uniq('n')], /prefix of 16 to 29/],
      [['--driver', 'macvlan', uniq('n')], /driver/],
      [['-o', 'mtu=9000', uniq('n')], /not supported/],
    ];
    for (const [args, msg] of cases) {
      const r = await moat(['network', 'create', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
    const unknown = await moat(['run', '--rm', '--network', uniq('nosuch'), IMAGE, 'true']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/RUNTIME_NETWORK_NOT_FOUND|no such network/);
    const alias = await moat(['run', '--rm', '--network-alias', 'x', IMAGE, 'true']);
    expect(alias.code).not.toBe(0);
    expect(alias.stderr).toMatch(/--network-alias needs a user-defined network/);
  });

  it('rm is refused while a container is on the network, then removes it and ends its namespace; prune takes unused ones', async () => {
    const net = await network();
    const c = uniq('idle');
    containers.push(c);
    expect((await moat(['create', '--name', c, '--network', net, IMAGE, 'true'])).code).toBe(0);
    const busy = await moat(['network', 'rm', net]);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/has containers on it/);
    expect(busy.stderr).toContain(c);
    const builtIn = await moat(['network', 'rm', 'slirp4netns']);
    expect(builtIn.code).not.toBe(0);
    expect(builtIn.stderr).toMatch(/built-in/);
    // Started once, so its namespace's holder runs; it ends with the network.
    expect((await moat(['start', '-a', c])).code).toBe(0);
    const id = (await inspect(net)).Id ?? '';
    const holder = holderPid(id);
    expect(holder).toBeGreaterThan(0);
    expect(existsSync(`/proc/${holder}`)).toBe(true);
    expect((await moat(['rm', c])).code).toBe(0);
    const rm = await moat(['network', 'rm', net]);
    expect(rm.code, rm.stderr).toBe(0);
    // Killed; gone once reaped (its parent is the subreaper).
    for (let i = 0; i < 50 && alive(holder); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(holder)).toBe(false);
    expect((await moat(['network', 'inspect', net])).code).not.toBe(0);

    const unused = await network();
    const used = await network();
    const keep = await sleeper(['--network', used]);
    expect(keep).toBeTruthy();
    const pr = await moat(['network', 'prune', '-f', '--filter', `label=${LABEL}`, '--format', 'json']);
    expect(pr.code, pr.stderr).toBe(0);
    const removed = (JSON.parse(pr.stdout) as { removed: string[] }).removed;
    expect(removed).toContain(unused);
    expect(removed).not.toContain(used);
    const ls = await moat(['network', 'ls', '-q']);
    expect(ls.stdout.split('\n')).toEqual(expect.arrayContaining(['none', 'slirp4netns', 'pasta', used]));
    expect(ls.stdout.split('\n')).not.toContain(unused);
  });
});

/** Running (a zombie waiting to be reaped is not). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The holder's pid as moat recorded it under its runtime directory (network/infra.ts). */
function holderPid(id: string): number {
  const e = env();
  const uid = process.getuid?.() ?? 0;
  const candidates = [
    path.join(e.XDG_RUNTIME_DIR ?? '', 'moat'),
    path.join(e.XDG_CACHE_HOME ?? path.join(e.HOME ?? '', '.cache'), 'moat', 'run'),
    uid === 0 ? '/run/moat' : '',
  ].filter(Boolean);
  for (const dir of candidates) {
    const f = path.join(dir, 'netns', `${id.slice(0, 24)}.json`);
    if (existsSync(f)) return (JSON.parse(readFileSync(f, 'utf8')) as { pid: number }).pid;
  }
  return 0;
}
