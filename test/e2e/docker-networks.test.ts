/**
 * Issue 16, user-defined networks through Docker's API: the docker CLI against `moat system
 * service` creates networks (--subnet, --internal, --label, -o), lists and inspects them in
 * Docker's shape, runs containers on one that reach each other by name and by --network-alias
 * (busybox httpd fetched with wget, its page checked: outbound TCP here may be answered by a
 * proxy), connects and disconnects a running container (its /etc/hosts follows), shows
 * NetworkSettings.Networks, shares a container's network (container:NAME), refuses rm while a
 * container is on the network, prunes by label, and refuses --ip and --link with what to do.
 * As the non-root test user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, http, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

for (const t of ['docker', 'slirp4netns'])
  if (!have(t)) throw new Error(`${t} is needed for the docker network tests`);

let w: World;
let svc: Service;
const containers: string[] = [];
const networks: string[] = [];
const suite = uniq('dkn');
const token = uniq('token');

const HTTPD = `mkdir -p /tmp/www && echo ${token} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`;
/** GET / on port 8080 of HOST, retried while the server starts (busybox wget: never -T here). */
const fetchFrom = (host: string) =>
  `for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://${host}:8080/ && exit 0; sleep 0.5; done; exit 1`;
/** The same by address, bounded (nc -w): for a peer that may be out of reach. */
const get = (ip: string) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080; true`;

function ok(args: string[]): string {
  const r = docker(svc, w, args);
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function network(prefix: string, flags: string[] = []): string {
  const n = uniq(prefix);
  networks.push(n);
  expect(ok(['network', 'create', '--label', `suite=${suite}`, ...flags, n]).trim()).toMatch(
    /^[0-9a-f]{64}$/,
  );
  return n;
}

function detached(prefix: string, flags: string[], cmd: string[]): string {
  const n = uniq(prefix);
  containers.push(n);
  ok(['run', '-d', '--name', n, ...flags, IMAGE, ...cmd]);
  return n;
}

interface DockerNetwork {
  Name: string;
  Id: string;
  Driver: string;
  Created: string;
  Internal: boolean;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string }>;
}
const inspectNet = (n: string) => (JSON.parse(ok(['network', 'inspect', n])) as DockerNetwork[])[0];

interface EndpointSettings {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  MacAddress: string;
}
const inspectCtr = (c: string) =>
  (
    JSON.parse(ok(['inspect', c])) as {
      Id: string;
      HostConfig: { NetworkMode: string };
      NetworkSettings: { Networks: Record<string, EndpointSettings> };
    }[]
  )[0];

beforeAll(async () => {
  w = mainWorld('docker-networks');
  svc = await startService(w);
});
afterAll(async () => {
  if (containers.length) await moat(['rm', '-f', ...containers]);
  for (const n of networks) await moat(['network', 'rm', '-f', n]);
  if (svc) await stopService(svc);
});

describe('docker network against the service', () => {
  it('create with --subnet, --internal, --label and -o; ls and inspect in Docker’s shape; a duplicate is refused', async () => {
    const a = network('dkn-a', ['--subnet', '10.231.7.0/24', '-o', 'allow_host_loopback=false']);
    const internal = network('dkn-int', ['--internal']);
    const dup = docker(svc, w, ['network', 'create', a]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(new RegExp(`network with name ${a} already exists`));
    const raw = await http(
      svc,
      'POST',
      '/v1.41/networks/create',
      JSON.stringify({ Name: a, CheckDuplicate: true }),
    );
    expect(raw.status).toBe(409);

    const ls = ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']).split('\n');
    expect(ls).toEqual(
      expect.arrayContaining([`${a} bridge local`, `${internal} bridge local`, 'none null local']),
    );
    expect(
      ok(['network', 'ls', '--filter', `label=suite=${suite}`, '--format', '{{.Name}}'])
        .split('\n')
        .filter(Boolean)
        .sort(),
    ).toEqual([a, internal].sort());
    expect(
      ok(['network', 'ls', '--filter', 'type=custom', '-q']).split('\n').filter(Boolean).length,
    ).toBeGreaterThanOrEqual(2);

    const i = inspectNet(a);
    expect(i).toMatchObject({
      Name: a,
      Driver: 'bridge',
      Internal: false,
      IPAM: { Config: [{ Subnet: '10.231.7.0/24', Gateway: '10.231.7.1' }] },
      Labels: { suite },
      Options: { allow_host_loopback: 'false' },
      Containers: {},
    });
    expect(Date.parse(i.Created)).toBeGreaterThan(Date.now() - 3600_000);
    const n = inspectNet(internal);
    expect(n.Internal).toBe(true);
    expect(n.IPAM.Config[0].Subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    // an internal network's containers have no way out: no default route
    expect(ok(['run', '--rm', '--network', internal, IMAGE, 'ip', 'route'])).not.toMatch(/default/);
    expect(ok(['network', 'rm', internal]).trim()).toBe(internal);
  });

  it('peers by name and alias; container:NAME; connect and disconnect a running container; inspect; rm and prune', async () => {
    const a = network('dkn-web', ['--subnet', '10.231.9.0/24']);
    const b = network('dkn-other');
    const web = detached('dkn-web', ['--network', a, '--network-alias', 'www'], ['sh', '-c', HTTPD]);

    // By name and by alias from a peer on the same network.
    expect(ok(['run', '--rm', '--network', a, IMAGE, 'sh', '-c', fetchFrom(web)])).toContain(token);
    expect(ok(['run', '--rm', '--network', a, IMAGE, 'sh', '-c', fetchFrom('www')])).toContain(token);
    // Sharing its network: its server is on the shared loopback.
    expect(
      ok(['run', '--rm', '--network', `container:${web}`, IMAGE, 'sh', '-c', get('127.0.0.1')]),
    ).toContain(token);

    // docker inspect: the network by name, its address, the alias; HostConfig.NetworkMode as given.
    const wi = inspectCtr(web);
    expect(wi.HostConfig.NetworkMode).toBe(a);
    const ep = wi.NetworkSettings.Networks[a];
    expect(ep).toMatchObject({ IPPrefixLen: 24, Gateway: '10.231.9.1', MacAddress: '' });
    expect(ep.IPAddress).toMatch(/^10\.231\.9\.\d+$/);
    expect(ep.Aliases).toContain('www');
    const net = inspectNet(a);
    expect(ep.NetworkID).toBe(net.Id);
    expect(net.Containers[wi.Id]).toMatchObject({
      Name: web,
      EndpointID: ep.EndpointID,
      MacAddress: '',
      IPv4Address: `${ep.IPAddress}/24`,
    });

    // A running container on another network: out of reach until connected.
    const cl = detached('dkn-cl', ['--network', b], ['sleep', '300']);
    expect(ok(['exec', cl, 'cat', '/etc/hosts'])).not.toContain(web);
    expect(ok(['exec', cl, 'sh', '-c', get(ep.IPAddress)])).not.toContain(token);
    ok(['network', 'connect', '--alias', 'front', a, cl]);
    const hosts = ok(['exec', cl, 'cat', '/etc/hosts']);
    expect(hosts).toMatch(new RegExp(`${ep.IPAddress.replace(/\./g, '\\.')}\\t${web} www`));
    expect(ok(['exec', cl, 'sh', '-c', get(ep.IPAddress)])).toContain(token);
    expect(ok(['exec', cl, 'sh', '-c', fetchFrom(web)])).toContain(token);
    expect(ok(['exec', web, 'cat', '/etc/hosts'])).toMatch(new RegExp(`\\t${cl} front`));
    const ci = inspectCtr(cl);
    expect(Object.keys(ci.NetworkSettings.Networks).sort()).toEqual([a, b].sort());
    expect(ci.NetworkSettings.Networks[a].Aliases).toContain('front');
    expect(ci.NetworkSettings.Networks[a].IPAddress).toMatch(/^10\.231\.9\.\d+$/);
    expect(ci.HostConfig.NetworkMode).toBe(b);
    // docker ps: the networks each is on, and the network filter (by name and by ID).
    const nets = (name: string) =>
      ok(['ps', '--filter', `name=^/${name}$`, '--format', '{{.Networks}}'])
        .trim()
        .split(',')
        .sort();
    expect(nets(cl)).toEqual([a, b].sort());
    expect(nets(web)).toEqual([a]);
    const onA = ok(['ps', '--filter', `network=${a}`, '--format', '{{.Names}}'])
      .split('\n')
      .filter(Boolean);
    expect(onA.sort()).toEqual([cl, web].sort());
    expect(
      ok(['ps', '--filter', `network=${net.Id}`, '-q'])
        .split('\n')
        .filter(Boolean),
    ).toHaveLength(2);
    expect(ok(['ps', '--filter', `network=${b}`, '--format', '{{.Names}}']).trim()).toBe(cl);

    ok(['network', 'disconnect', a, cl]);
    expect(ok(['exec', cl, 'cat', '/etc/hosts'])).not.toContain(web);
    expect(ok(['exec', cl, 'sh', '-c', get(ep.IPAddress)])).not.toContain(token);
    expect(Object.keys(inspectCtr(cl).NetworkSettings.Networks)).toEqual([b]);
    const again = docker(svc, w, ['network', 'disconnect', a, cl]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/is not on network/);

    // rm: refused while a container is on it, then done.
    const busy = docker(svc, w, ['network', 'rm', a]);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(new RegExp(`network ${a} has containers on it: ${web}`));
    expect((await http(svc, 'DELETE', `/v1.41/networks/${a}`)).status).toBe(409);
    ok(['rm', '-f', web]);
    expect(ok(['network', 'rm', a]).trim()).toBe(a);
    expect(docker(svc, w, ['network', 'inspect', a]).stderr).toMatch(new RegExp(`network ${a} not found`));

    // prune: by label, unused ones only; label! keeps.
    const unused = network('dkn-unused');
    const kept = network('dkn-kept', ['--label', 'keep=1']);
    const p = ok(['network', 'prune', '-f', '--filter', `label=suite=${suite}`, '--filter', 'label!=keep']);
    expect(p).toContain(unused);
    expect(p).not.toContain(b); // cl is on it
    expect(p).not.toContain(kept);
    const left = ok(['network', 'ls', '--filter', `label=suite=${suite}`, '--format', '{{.Name}}']);
    expect(left.split('\n').filter(Boolean).sort()).toEqual([b, kept].sort());
    expect(docker(svc, w, ['network', 'prune', '-f', '--filter', 'until=1h']).stderr).toMatch(
      /--filter until is not supported by moat/,
    );
  });

  it('refuses --ip, --link and an unknown network with what to do', () => {
    const a = network('dkn-ref', ['--subnet', '10.231.11.0/24']);
    const ip = docker(svc, w, ['run', '--rm', '--network', a, '--ip', '10.231.11.50', IMAGE, 'true']);
    expect(ip.code).toBe(125);
    expect(ip.stderr).toMatch(/--ip\/--ip6 is not supported by moat/);
    const link = docker(svc, w, ['run', '--rm', '--link', 'other:db', IMAGE, 'true']);
    expect(link.code).toBe(125);
    expect(link.stderr).toMatch(
      /--link is not supported by moat: put the containers on a user-defined network/,
    );
    const missing = uniq('dkn-nope');
    const nope = docker(svc, w, ['run', '--rm', '--network', missing, IMAGE, 'true']);
    expect(nope.code).toBe(125);
    expect(nope.stderr).toMatch(new RegExp(`no such network: ${missing}`));
    expect(nope.stderr).not.toMatch(/Unable to find image/);
  });
});
