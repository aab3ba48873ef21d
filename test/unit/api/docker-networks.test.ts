/**
 * Issue 16, Docker's `/networks` on moat's user-defined networks: create bodies as the docker CLI
 * sends them (refusing what a moat network cannot be), networks and a container's
 * NetworkSettings.Networks in Docker's shape, and docker run's --network NAME, --network-alias
 * and container:NAME onto run options.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerInspect, runOptionsFromDocker } from '../../../src/api/docker/index.js';
import { dockerNetwork, endpointAliases, networkCreateFromDocker } from '../../../src/api/docker/networks.js';
import type { NetworkView } from '../../../src/api/network-routes.js';
import { MoatError } from '../../../src/errors.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';

type Body = Record<string, unknown> & { HostConfig: Record<string, unknown> };
const plain = (): Body =>
  JSON.parse(readFileSync(new URL('./fixtures/docker-create-body.json', import.meta.url), 'utf8')) as Body;

/** What docker CLI 28 sends for `docker network create --subnet 10.90.0.0/24 --internal --label k=v -o allow_host_loopback=true n1`. */
const CLI_CREATE = {
  Name: 'n1',
  CheckDuplicate: true,
  Driver: 'bridge',
  Scope: '',
  EnableIPv6: false,
  IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.90.0.0/24' }] },
  Internal: true,
  Attachable: false,
  Ingress: false,
  ConfigOnly: false,
  ConfigFrom: null,
  Options: { allow_host_loopback: 'true' },
  Labels: { k: 'v' },
};

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MoatError);
    return (e as MoatError).message;
  }
  return 'accepted';
};

const N1: NetworkView = {
  Name: 'n1',
  Id: 'a'.repeat(64),
  Driver: 'bridge',
  Scope: 'local',
  Internal: false,
  BuiltIn: false,
  Available: true,
  Containers: ['web'],
  Created: '2026-12-07T16:00:00.000Z',
  Subnet: '10.90.0.0/24',
  Gateway: '10.90.0.1',
  Labels: { k: 'v' },
  Options: {},
  Endpoints: [
    { Id: 'c'.repeat(64), Name: 'web', IPv4Address: '10.90.0.2/24', Aliases: ['www'], Running: true },
  ],
};

describe('docker network create', () => {
  it("takes the CLI's body: name, driver, subnet, internal, labels, options", () => {
    expect(networkCreateFromDocker(CLI_CREATE)).toEqual({
      name: 'n1',
      driver: 'bridge',
      subnet: '10.90.0.0/24',
      internal: true,
      labels: { k: 'v' },
      options: { allow_host_loopback: 'true' },
    });
    expect(networkCreateFromDocker({ Name: 'n2', IPAM: { Config: [] } })).toEqual({ name: 'n2' });
    // The subnet's first address is the gateway moat gives: naming it is accepted.
    expect(
      networkCreateFromDocker({
        Name: 'n3',
        IPAM: { Config: [{ Subnet: '10.91.0.0/24', Gateway: '10.91.0.1' }] },
      }),
    ).toEqual({ name: 'n3', subnet: '10.91.0.0/24' });
  });

  it('refuses what a moat network cannot be, named as the user typed it', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ EnableIPv6: true }, /^--ipv6 is not supported by moat/],
      [{ Attachable: true }, /^--attachable is not supported/],
      [{ IPAM: { Driver: 'dhcp' } }, /^--ipam-driver dhcp is not supported/],
      [{ IPAM: { Config: [{ Subnet: '10.9.0.0/24' }, { Subnet: '10.8.0.0/24' }] } }, /a second --subnet/],
      [{ IPAM: { Config: [{ Subnet: '10.9.0.0/24', IPRange: '10.9.0.0/25' }] } }, /^--ip-range/],
      [{ IPAM: { Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.254' }] } }, /^--gateway 10\.9\.0\.254/],
      [
        { IPAM: { Config: [{ Subnet: '10.9.0.0/24', AuxiliaryAddresses: { a: '10.9.0.5' } }] } },
        /^--aux-address/,
      ],
      [{ ConfigFrom: { Network: 'base' } }, /^--config-from/],
      [{ Scope: 'swarm' }, /^--scope swarm/],
    ];
    for (const [extra, msg] of cases)
      expect(message(() => networkCreateFromDocker({ Name: 'n', ...extra }))).toMatch(msg);
    expect(message(() => networkCreateFromDocker({}))).toMatch(/Name is required/);
  });
});

describe('networks in Docker’s shape', () => {
  it('IPAM.Config, Labels, Options, Created and Containers by ID', () => {
    const d = dockerNetwork(N1) as Record<string, unknown> & {
      Containers: Record<string, Record<string, string>>;
    };
    expect(d).toMatchObject({
      Name: 'n1',
      Id: N1.Id,
      Driver: 'bridge',
      Created: N1.Created,
      Internal: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.90.0.0/24', Gateway: '10.90.0.1' }] },
      Labels: { k: 'v' },
      Options: {},
    });
    expect(d.Containers['c'.repeat(64)]).toMatchObject({
      Name: 'web',
      MacAddress: '',
      IPv4Address: '10.90.0.2/24',
      IPv6Address: '',
    });
    expect(d.Containers['c'.repeat(64)].EndpointID).toMatch(/^[0-9a-f]{64}$/);
    // a built-in mode: no subnet, no containers listed
    const none = dockerNetwork({
      ...N1,
      Name: 'none',
      BuiltIn: true,
      Subnet: undefined,
      Created: undefined,
      Endpoints: [],
    });
    expect(none).toMatchObject({ IPAM: { Config: [] }, Containers: {}, Created: '0001-01-01T00:00:00Z' });
  });

  it("a container's NetworkSettings.Networks: its user networks with address, aliases, gateway", () => {
    const o = { ...defaultRunOptions('moat/busybox'), network: 'n1', networkAliases: ['www'] };
    const rec = {
      id: 'c'.repeat(64),
      name: 'web',
      options: o,
      command: ['sh'],
      status: 'running',
    } as unknown as ContainerRecord;
    const i = containerInspect(rec, [N1]) as {
      HostConfig: { NetworkMode: string };
      NetworkSettings: { Networks: Record<string, Record<string, unknown>> };
    };
    expect(i.HostConfig.NetworkMode).toBe('n1');
    expect(i.NetworkSettings.Networks).toEqual({
      n1: expect.objectContaining({
        IPAddress: '10.90.0.2',
        IPPrefixLen: 24,
        Gateway: '10.90.0.1',
        Aliases: ['www'],
        NetworkID: N1.Id,
        MacAddress: '',
      }),
    });
    expect(i.NetworkSettings.Networks.n1.EndpointID).toBe(
      (dockerNetwork(N1).Containers as Record<string, { EndpointID: string }>)[rec.id].EndpointID,
    );
    expect(
      (containerInspect({ ...rec, id: 'd'.repeat(64) }, [N1]) as typeof i).NetworkSettings.Networks,
    ).toEqual({});
  });
});

describe('docker run --network NAME --network-alias A, --network container:NAME', () => {
  const withNet = (mode: string, eps: Record<string, unknown>) => {
    const b = plain();
    b.HostConfig.NetworkMode = mode;
    b.NetworkingConfig = { EndpointsConfig: eps };
    return b;
  };
  it('a user network and its aliases become run options', () => {
    const o = runOptionsFromDocker(
      withNet('n1', { n1: { Aliases: ['www', 'api'], IPAMConfig: null, MacAddress: '' } }),
      null,
    );
    expect(o.network).toBe('n1');
    expect(o.networkAliases).toEqual(['www', 'api']);
    const c = runOptionsFromDocker(withNet('container:web', { 'container:web': {} }), null);
    expect(c.network).toBe('container:web');
    expect(c.networkAliases).toBeUndefined();
    // docker's default stays moat's default
    expect(runOptionsFromDocker(withNet('default', { default: {} }), null).network).toBeUndefined();
  });

  it('--ip, --mac-address, --link on the endpoint and a second network are refused', () => {
    const cases: [Body, RegExp][] = [
      [
        withNet('n1', { n1: { IPAMConfig: { IPv4Address: '10.90.0.9' } } }),
        /^--ip\/--ip6 is not supported by moat/,
      ],
      [withNet('n1', { n1: { MacAddress: '02:42:ac:11:00:02' } }), /^--mac-address is not supported/],
      [withNet('n1', { n1: { Links: ['db:db'] } }), /^--link is not supported/],
      [
        withNet('n1', { n1: {}, n2: {} }),
        /^--network n2 with --network n1 is not supported by moat: .*docker network connect/,
      ],
    ];
    for (const [b, msg] of cases) expect(message(() => runOptionsFromDocker(b, null))).toMatch(msg);
    const links = plain();
    links.HostConfig.Links = ['db:db'];
    expect(message(() => runOptionsFromDocker(links, null))).toMatch(
      /^--link is not supported by moat: put the containers on a user-defined network/,
    );
  });

  it("connect's EndpointConfig: aliases taken, the rest refused", () => {
    expect(
      endpointAliases({ Aliases: ['a'], IPAMConfig: {}, Links: null, DriverOpts: null, GwPriority: 0 }),
    ).toEqual(['a']);
    expect(endpointAliases(undefined)).toEqual([]);
    expect(message(() => endpointAliases({ DriverOpts: { x: 'y' } }))).toMatch(
      /^--driver-opt is not supported/,
    );
  });
});
