import { describe, it, expect } from 'vitest';
import { defaultProfile, resolveSeccomp } from '../../../src/seccomp/index.js';
import { allows, simulate } from './simulate.js';

const spec = (capabilities: string[] = [], arch: NodeJS.Architecture = 'x64') =>
  resolveSeccomp(defaultProfile(), { capabilities, arch });

const CLONE_NEWNS = 0x20000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const NAMESPACE_FLAGS = [
  CLONE_NEWNS,
  CLONE_NEWCGROUP,
  CLONE_NEWUTS,
  CLONE_NEWIPC,
  CLONE_NEWUSER,
  CLONE_NEWPID,
  CLONE_NEWNET,
];
const SIGCHLD = 17;
/** What glibc's pthread_create passes to clone. */
const THREAD_FLAGS = 0x3d0f00;

describe('clone', () => {
  it('is one MASKED_EQ rule on argument 0 with the namespace mask', () => {
    const rules = (spec().syscalls ?? []).filter((r) => r.names.includes('clone'));
    expect(rules).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
  });

  it('allows fork and threads, refuses every namespace flag', () => {
    const s = spec();
    expect(allows(s, 'clone', [SIGCHLD])).toBe(true);
    expect(allows(s, 'clone', [THREAD_FLAGS])).toBe(true);
    for (const flag of NAMESPACE_FLAGS) {
      expect(allows(s, 'clone', [SIGCHLD | flag]), flag.toString(16)).toBe(false);
      expect(allows(s, 'clone', [BigInt(SIGCHLD | flag) | (1n << 40n)])).toBe(false);
    }
  });

  it('answers clone3 with ENOSYS so libc falls back to clone', () => {
    expect(simulate(spec(), 'clone3')).toEqual({ action: 'SCMP_ACT_ERRNO', errno: 38 });
  });

  it('with CAP_SYS_ADMIN allows namespaces and clone3', () => {
    const s = spec(['CAP_SYS_ADMIN']);
    for (const flag of NAMESPACE_FLAGS) expect(allows(s, 'clone', [SIGCHLD | flag])).toBe(true);
    expect(allows(s, 'clone3')).toBe(true);
  });
});

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_KEY = 15;
const AF_NETLINK = 16;
const AF_PACKET = 17;
const AF_BLUETOOTH = 31;
const AF_ALG = 38;
const AF_VSOCK = 40;
const AF_XDP = 44;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_RDM = 4;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;

describe('socket', () => {
  it('allows unix, TCP, UDP, SCTP and netlink without capabilities', () => {
    const s = spec();
    for (const type of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW]) {
      expect(allows(s, 'socket', [AF_UNIX, type])).toBe(true);
      expect(allows(s, 'socket', [AF_NETLINK, type])).toBe(true);
    }
    for (const family of [AF_INET, AF_INET6]) {
      for (const type of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) {
        expect(allows(s, 'socket', [family, type])).toBe(true);
        expect(allows(s, 'socket', [family, type | SOCK_CLOEXEC | SOCK_NONBLOCK])).toBe(true);
      }
    }
  });

  it('refuses raw IP and packet sockets without CAP_NET_RAW', () => {
    const s = spec(['CAP_NET_BIND_SERVICE']);
    for (const family of [AF_INET, AF_INET6]) {
      expect(allows(s, 'socket', [family, SOCK_RAW])).toBe(false);
      expect(allows(s, 'socket', [family, SOCK_RAW | SOCK_CLOEXEC])).toBe(false);
      expect(allows(s, 'socket', [family, SOCK_RDM])).toBe(false);
    }
    expect(simulate(s, 'socket', [AF_PACKET, SOCK_RAW])).toEqual({ action: 'SCMP_ACT_ERRNO', errno: 1 });
    expect(allows(s, 'socket', [AF_PACKET, SOCK_DGRAM])).toBe(false);
  });

  it('allows raw IP and packet sockets with CAP_NET_RAW', () => {
    const s = spec(['CAP_NET_RAW']);
    for (const family of [AF_INET, AF_INET6]) expect(allows(s, 'socket', [family, SOCK_RAW])).toBe(true);
    expect(allows(s, 'socket', [AF_PACKET, SOCK_RAW])).toBe(true);
    expect(allows(s, 'socket', [AF_PACKET, SOCK_DGRAM])).toBe(true);
  });

  it('refuses other families whatever the capabilities', () => {
    for (const s of [spec(), spec(['CAP_NET_RAW', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'])]) {
      for (const family of [AF_ALG, AF_VSOCK, AF_KEY, AF_BLUETOOTH, AF_XDP, 0, 255]) {
        for (const type of [SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET]) {
          expect(allows(s, 'socket', [family, type]), `family ${family}`).toBe(false);
        }
      }
    }
  });

  it('does not let high register bits sneak a family past the filter', () => {
    expect(allows(spec(), 'socket', [(1n << 32n) | BigInt(AF_INET), SOCK_STREAM])).toBe(false);
  });

  it('allows socketpair for AF_UNIX only', () => {
    const s = spec(['CAP_NET_RAW']);
    expect(allows(s, 'socketpair', [AF_UNIX, SOCK_STREAM])).toBe(true);
    expect(allows(s, 'socketpair', [AF_INET, SOCK_STREAM])).toBe(false);
  });
});
