/** -p / -P parsing, the network options' checks and the files a networked container gets (pure). */
import { describe, expect, it } from 'vitest';
import { MoatError } from '../../../src/errors.js';
import {
  hostsFile,
  networkOf,
  networkProblems,
  planNetwork,
  resolvConf,
} from '../../../src/runtime/network/plan.js';
import { exposedPorts, isLoopback, parsePublish, portLine } from '../../../src/runtime/network/ports.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';

const refused = (s: string): MoatError => {
  try {
    parsePublish(s);
  } catch (e) {
    if (e instanceof MoatError) return e;
    throw e;
  }
  throw new Error(`${s} was accepted`);
};

describe('-p', () => {
  it("docker's forms, on 127.0.0.1 unless an address is given", () => {
    expect(parsePublish('8080:80')).toEqual({
      hostIp: '127.0.0.1',
      hostPort: 8080,
      containerPort: 80,
      protocol: 'tcp',
    });
    expect(parsePublish('80')).toEqual({
      hostIp: '127.0.0.1',
      hostPort: 0,
      containerPort: 80,
      protocol: 'tcp',
    });
    expect(parsePublish('0.0.0.0:53:53/udp')).toEqual({
      hostIp: '0.0.0.0',
      hostPort: 53,
      containerPort: 53,
      protocol: 'udp',
    });
    expect(parsePublish('127.0.0.1::80')).toEqual({
      hostIp: '127.0.0.1',
      hostPort: 0,
      containerPort: 80,
      protocol: 'tcp',
    });
    expect(parsePublish('[::1]:8080:80')).toEqual({
      hostIp: '::1',
      hostPort: 8080,
      containerPort: 80,
      protocol: 'tcp',
    });
  });

  it('refuses what it cannot publish as asked, with the syntax in the hint', () => {
    for (const s of [
      '80/sctp',
      '8000-8001:80-81',
      'host:80:80',
      '70000:80',
      '8080:0',
      'a:b',
      '1:2:3:4',
      '',
    ]) {
      const e = refused(s);
      expect(e.code, s).toBe('RUNTIME_INVALID_OPTION');
      expect(e.hint, s).toMatch(/-p \[IP:\]\[HOST_PORT:\]CONTAINER_PORT/);
    }
  });

  it("-P takes the image's EXPOSEd tcp and udp ports (not ranges)", () => {
    expect(
      exposedPorts({ '80/tcp': {}, '53/udp': {}, '9000-9001/tcp': {}, '443': {} }).map(portLine).sort(),
    ).toEqual(['443/tcp -> 127.0.0.1:0', '53/udp -> 127.0.0.1:0', '80/tcp -> 127.0.0.1:0']);
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && !isLoopback('0.0.0.0')).toBe(true);
  });
});

describe('the network a run gets', () => {
  const o = defaultRunOptions('img');
  it('none by default, slirp4netns when it publishes, what was asked otherwise', () => {
    expect(networkOf(o)).toBe('none');
    expect(networkOf({ ...o, ports: [parsePublish('80')] })).toBe('slirp4netns');
    expect(networkOf({ ...o, publishAll: true })).toBe('slirp4netns');
    expect(networkOf({ ...o, network: 'pasta', ports: [parsePublish('80')] })).toBe('pasta');
    const planned = planNetwork(
      { ...o, publishAll: true, ports: [parsePublish('8080:80')] },
      { '80/tcp': {}, '81/tcp': {} },
    );
    expect(planned.network).toBe('slirp4netns');
    expect(planned.ports?.map(portLine)).toEqual(['80/tcp -> 127.0.0.1:8080', '81/tcp -> 127.0.0.1:0']);
  });

  it('checks: -p with none, a port twice, --dns and --add-host syntax', () => {
    const msgs = (x: Partial<typeof o>) => networkProblems({ ...o, ...x }).map((p) => p.message);
    expect(msgs({ network: 'none', ports: [parsePublish('80')] })).toEqual([
      'publishing ports needs a network: --network none has loopback only',
    ]);
    expect(msgs({ ports: [parsePublish('8080:80'), parsePublish('8080:81')] })).toEqual([
      'host port 127.0.0.1:8080/tcp is published twice',
    ]);
    expect(msgs({ dns: ['one.one'], addHosts: ['db', 'db:nope', 'ok:192.0.2.1'] })).toEqual([
      '--dns one.one: not an IP address',
      '--add-host db: expected NAME:IP',
      '--add-host db:nope: expected NAME:IP',
    ]);
  });

  it('/etc/hosts and /etc/resolv.conf', () => {
    expect(hostsFile('web', ['db:192.0.2.10'])).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n192.0.2.10\tdb\n',
    );
    const host = 'nameserver 127.0.0.53\nnameserver 192.0.2.1\n# x\n';
    expect(resolvConf('slirp4netns', undefined, host)).toBe('nameserver 10.0.2.3\n');
    expect(resolvConf('pasta', undefined, host)).toBe('nameserver 192.0.2.1\n');
    expect(resolvConf('pasta', ['192.0.2.53'], host)).toBe('nameserver 192.0.2.53\n');
  });
});
