/**
 * User-defined networks, the pure parts: subnets (ipam.ts), the store's checks on create
 * (store.ts, in a temporary data directory), the /etc/hosts lines peers get (endpoints.ts), the
 * ip commands of a link (links.ts), and what --network may name (plan.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allocate,
  hostOf,
  nextSubnet,
  parseSubnet,
  reservedOverlap,
  subnetText,
} from '../../../src/runtime/network/ipam.js';
import { joinNetwork, networkHostsLines } from '../../../src/runtime/network/endpoints.js';
import { ContainerStore, type ContainerRecord } from '../../../src/runtime/state.js';
import { linkCommands } from '../../../src/runtime/network/links.js';
import { kindOf, networkProblems, resolvConf, stackOf } from '../../../src/runtime/network/plan.js';
import { NetworkStore, type NetworkRecord } from '../../../src/runtime/network/store.js';
import type { MoatPaths } from '../../../src/util/paths.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'moat-netstore-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('subnets', () => {
  it('parses CIDR with a prefix of 16 to 29 and no host bits', () => {
    expect(subnetText(parseSubnet('10.89.3.0/24')!)).toBe('10.89.3.0/24');
    for (const bad of [
      '10.89.3.1/24',
      '10.0.0.0/8',
      '10.0.0.0/30',
      '10.89.3.0',
      '300.1.1.0/24',
      '::/64',
      '10.89.3.0/24x',
    ])
      expect(parseSubnet(bad), bad).toBeUndefined();
  });

  it('picks the next 10.89.N.0/24 nothing overlaps, and refuses reserved space', () => {
    const taken = [parseSubnet('10.89.0.0/24')!, parseSubnet('10.89.1.0/25')!];
    expect(subnetText(nextSubnet(taken)!)).toBe('10.89.2.0/24');
    expect(reservedOverlap(parseSubnet('10.0.0.0/16')!)).toMatch(/slirp4netns/);
    expect(reservedOverlap(parseSubnet('127.1.0.0/16')!)).toMatch(/loopback/);
    expect(reservedOverlap(parseSubnet('10.90.0.0/16')!)).toBeUndefined();
  });

  it('allocates from the first host after the gateway, never the broadcast address', () => {
    const s = parseSubnet('10.9.0.0/29')!;
    expect(allocate(s, new Set())).toBe('10.9.0.2');
    expect(allocate(s, new Set(['10.9.0.2', '10.9.0.3']))).toBe('10.9.0.4');
    expect(
      allocate(s, new Set(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6'])),
    ).toBeUndefined();
    expect(hostOf(s, '10.9.0.7')).toBe(false);
    expect(hostOf(s, '10.9.0.6')).toBe(true);
  });
});

describe('the network store', () => {
  const store = new NetworkStore({ data: tmp } as MoatPaths);

  it('creates networks with distinct subnets and refuses names, drivers, options and overlaps it cannot take', async () => {
    const a = await store.create('alpha', { labels: { team: 'x' } });
    const b = await store.create('beta', { internal: true });
    expect(a).toMatchObject({ name: 'alpha', subnet: '10.89.0.0/24', gateway: '10.89.0.1', internal: false });
    expect(b).toMatchObject({ subnet: '10.89.1.0/24', internal: true });
    expect((await store.get('alpha')).labels).toEqual({ team: 'x' });
    expect((await store.get(a.id.slice(0, 12))).name).toBe('alpha');
    const refused: [string, Parameters<NetworkStore['create']>[1], string][] = [
      ['alpha', {}, 'RUNTIME_NAME_IN_USE'],
      ['none', {}, 'RUNTIME_INVALID_OPTION'],
      ['../up', {}, 'RUNTIME_INVALID_OPTION'],
      ['gamma', { driver: 'macvlan' }, 'RUNTIME_INVALID_OPTION'],
      ['gamma', { subnet: '10.89.0.128/25' }, 'RUNTIME_INVALID_OPTION'],
      ['gamma', { subnet: '10.0.2.0/24' }, 'RUNTIME_INVALID_OPTION'],
      ['gamma', { options: { mtu: '9000' } }, 'RUNTIME_INVALID_OPTION'],
      ['gamma', { options: { allow_host_loopback: 'yes' } }, 'RUNTIME_INVALID_OPTION'],
    ];
    for (const [name, o, code] of refused)
      await expect(store.create(name, o), `${name} ${JSON.stringify(o)}`).rejects.toMatchObject({ code });
    await expect(store.get('nosuch')).rejects.toMatchObject({ code: 'RUNTIME_NETWORK_NOT_FOUND' });
  });
});

describe('names on a network', () => {
  const net = (name: string, endpoints: NetworkRecord['endpoints']): NetworkRecord => ({
    id: name.padEnd(64, '0'),
    name,
    created: '',
    driver: 'bridge',
    subnet: '10.89.0.0/24',
    gateway: '10.89.0.1',
    internal: false,
    labels: {},
    options: {},
    endpoints,
  });
  const A = 'a'.repeat(64);
  const B = 'b'.repeat(64);
  const C = 'c'.repeat(64);

  it('lists every member of the networks a container is on, by name, aliases and short ID', () => {
    const n1 = net('n1', {
      [A]: { ip: '10.89.0.2', aliases: ['www'] },
      [B]: { ip: '10.89.0.3', aliases: [] },
    });
    const n2 = net('n2', { [C]: { ip: '10.89.9.2', aliases: [] } });
    const names: Record<string, string> = { [A]: 'web', [B]: 'client', [C]: 'elsewhere' };
    const lines = networkHostsLines(B, [n1, n2], (id) => names[id]);
    expect(lines).toBe(`10.89.0.2\tweb www ${A.slice(0, 12)}\n10.89.0.3\tclient ${B.slice(0, 12)}\n`);
    expect(networkHostsLines(C, [n1, n2], (id) => names[id])).not.toContain('web');
  });

  it('never writes a name that is not a host name (a hostile alias or a renamed record)', () => {
    const n = net('n', { [A]: { ip: '10.89.0.2', aliases: ['ok', 'bad name\n1.2.3.4 evil'] } });
    const lines = networkHostsLines(A, [n], () => 'x\ny');
    expect(lines).toBe(`10.89.0.2\tok ${A.slice(0, 12)}\n`);
  });
});

describe('a link', () => {
  const link = {
    holderPid: 10,
    holderStart: '1',
    hostIf: 'vm0123456789ab',
    ifname: 'eth0',
    ip: '10.89.0.2',
    prefix: 24,
    network: 'n',
  };

  it('is a veth on the bridge and an address inside', () => {
    expect(linkCommands(link, 4242)).toEqual({
      holder: [
        'link add vm0123456789ab type veth peer name eth0 netns 4242',
        'link set vm0123456789ab master br0',
        'link set vm0123456789ab up',
      ],
      container: ['addr add 10.89.0.2/24 dev eth0', 'link set eth0 up'],
    });
  });

  it('refuses names or addresses that would put another command into ip’s batch', () => {
    expect(() => linkCommands({ ...link, ifname: 'eth0\nlink del br0' }, 1)).toThrow(/malformed/);
    expect(() => linkCommands({ ...link, ip: '10.89.0.2/8 dev lo' }, 1)).toThrow(/malformed/);
  });
});

describe('what --network names', () => {
  it('tells built-in stacks, user networks and container:NAME apart', () => {
    expect(['none', 'slirp4netns', 'pasta', 'mynet', 'container:web'].map(kindOf)).toEqual([
      'none',
      'slirp4netns',
      'pasta',
      'user',
      'container',
    ]);
    expect(stackOf('mynet')).toBe('slirp4netns');
    expect(stackOf('mynet', true)).toBe('none');
    expect(stackOf('container:web')).toBe('none');
  });

  it('refuses what cannot go with container:NAME, and aliases without a user network', () => {
    const c = networkProblems({
      network: 'container:web',
      ports: [{ hostIp: '127.0.0.1', hostPort: 1, containerPort: 1, protocol: 'tcp' }],
      dns: ['1.1.1.1'],
      hostname: 'h',
    });
    expect(c.map((p) => p.message).join()).toMatch(/-p\/-P, --dns, --hostname cannot be given/);
    expect(networkProblems({ network: 'container:../x' })[0].message).toMatch(/container:NAME/);
    expect(networkProblems({ network: 'slirp4netns', networkAliases: ['a'] })[0].message).toMatch(
      /--network-alias needs/,
    );
    expect(networkProblems({ network: 'mynet', networkAliases: ['a'] })).toEqual([]);
  });

  it('gives an internal network (no stack) no name server', () => {
    expect(resolvConf('none', undefined, 'nameserver 192.0.2.1\n')).toBe('');
    expect(resolvConf('none', ['192.0.2.9'], '')).toBe('nameserver 192.0.2.9\n');
  });
});

describe('joining a network', () => {
  const paths = {
    data: tmp,
    containers: path.join(tmp, 'containers'),
    locks: path.join(tmp, 'locks'),
  } as MoatPaths;
  const deps = () => ({ paths, containers: new ContainerStore(paths), networks: new NetworkStore(paths) });
  const id = (c: string) => c.repeat(64);

  it('refuses a name or alias another member already answers to (no spoofing a peer by alias)', async () => {
    await deps().networks.create('spoof');
    // The containers' records (names are read from them, as peers' /etc/hosts are written).
    for (const [c, name] of [
      ['1', 'db'],
      ['2', 'web'],
      ['3', 'web2'],
    ]) {
      await mkdir(path.join(paths.containers, id(c)), { recursive: true });
      await deps().containers.save({ id: id(c), name, options: {} } as unknown as ContainerRecord);
    }
    await joinNetwork(deps(), { id: id('1'), name: 'db' }, 'spoof', ['database']);
    for (const [name, aliases] of [
      ['web', ['db']],
      ['web', ['database']],
      ['database', []],
    ] as const)
      await expect(
        joinNetwork(deps(), { id: id('2'), name }, 'spoof', aliases),
        `${name} ${aliases.join()}`,
      ).rejects.toMatchObject({ code: 'RUNTIME_INVALID_OPTION', message: expect.stringMatching(/already/) });
    const ok = await joinNetwork(deps(), { id: id('3'), name: 'web2' }, 'spoof', ['www']);
    expect(Object.keys(ok.endpoints)).toEqual([id('1'), id('3')]);
  });
});
