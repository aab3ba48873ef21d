/**
 * Learned seccomp profiles, the pure parts: the recording profile runc is given, the profile made
 * from the calls a run made (never looser than moat's default for a call both allow), merging,
 * diff and explain, and reading the recorder's file.
 */
import { describe, expect, it } from 'vitest';
import { defaultProfile } from '../../../src/seccomp/default-profile.js';
import {
  allowedNames,
  diffProfiles,
  explainProfile,
  learnedProfile,
  recordingProfile,
  RUNTIME_CALLS,
} from '../../../src/seccomp/learn/profile.js';
import { readRecord } from '../../../src/seccomp/learn/record.js';
import { resolveSeccomp } from '../../../src/seccomp/resolve.js';
import { compareSeccomp } from '../../../src/seccomp/summary.js';

const ctx = (caps: string[] = []) => ({ capabilities: caps, arch: 'x64' as const, kernelVersion: '6.1.0' });

describe('the recording profile', () => {
  it('lets everything through and has every call but write heard (runc refuses NOTIFY on write and as the default)', () => {
    const p = recordingProfile(['read', 'write', 'openat', 'read'], '/run/x.sock');
    expect(p.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(p.listenerPath).toBe('/run/x.sock');
    expect(p.syscalls).toEqual([
      expect.objectContaining({ names: ['openat', 'read'], action: 'SCMP_ACT_NOTIFY' }),
    ]);
  });
});

describe('a learned profile', () => {
  it('allows the calls seen (and what runc’s init needs), refuses the rest with EPERM', () => {
    const l = learnedProfile(['openat', 'mkdirat', 'symlinkat']);
    expect(l.profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(l.profile.defaultErrnoRet).toBe(1);
    for (const n of ['openat', 'mkdirat', 'symlinkat', 'write', ...RUNTIME_CALLS])
      expect(l.names).toContain(n);
    expect(l.names).not.toContain('unlinkat');
    expect(l.notInDefault).toEqual([]);
  });

  it('keeps the default profile’s argument filters and capability conditions (never looser for a call both allow)', () => {
    const l = learnedProfile(['socket', 'clone', 'clone3', 'personality', 'unshare', 'mount']);
    const socket = l.profile.syscalls!.filter((r) => r.names.includes('socket'));
    expect(socket.length).toBeGreaterThan(3);
    expect(socket.every((r) => r.args?.length)).toBe(true);
    expect(l.profile.syscalls!.filter((r) => r.names.includes('clone')).some((r) => r.args?.length)).toBe(
      true,
    );
    expect(l.withCapability.map((c) => c.name)).toEqual(expect.arrayContaining(['unshare', 'mount']));
    // Resolved for the same capabilities, it lets through nothing the default does not.
    for (const caps of [[], ['CAP_NET_RAW'], ['CAP_SYS_ADMIN']]) {
      const mine = resolveSeccomp(l.profile, ctx(caps));
      const ref = resolveSeccomp(defaultProfile(), ctx(caps));
      expect(compareSeccomp(mine, ref).looserThanDefault, caps.join()).toBe(false);
    }
  });

  it('says which seen calls the default refuses, and --allow-namespaces loosens only the namespace calls', () => {
    const l = learnedProfile(['openat', 'kexec_load', 'unshare']);
    expect(l.notInDefault).toEqual(['kexec_load']);
    const loose = learnedProfile(['unshare', 'clone'], { allowNamespaces: true });
    const plain = loose.profile.syscalls!.find(
      (r) => !r.args?.length && !r.includes && r.action === 'SCMP_ACT_ALLOW',
    );
    expect(plain?.names).toEqual(expect.arrayContaining(['unshare', 'clone']));
    const risks = Object.fromEntries(explainProfile(loose.profile).map((e) => [e.name, e.risk]));
    expect(risks.unshare).toBe('loosened');
    expect(risks.clone).toBe('loosened');
    expect(risks.openat ?? 'default').toBe('default');
  });
});

describe('merge, diff, explain', () => {
  it('merges two runs and tells what only one allows', () => {
    const a = learnedProfile(['openat', 'symlinkat']).profile;
    const b = learnedProfile(['openat', 'mkdirat']).profile;
    const merged = learnedProfile([...allowedNames(a), ...allowedNames(b)]).profile;
    expect(allowedNames(merged)).toEqual(expect.arrayContaining(['symlinkat', 'mkdirat']));
    expect(diffProfiles(a, b)).toMatchObject({ onlyA: ['symlinkat'], onlyB: ['mkdirat'] });
    expect(diffProfiles(a, merged).onlyA).toEqual([]);
  });

  it('explains each call by what it is for and whether the default allows it', () => {
    const p = learnedProfile(['openat', 'ptrace', 'kexec_load']).profile;
    const e = Object.fromEntries(explainProfile(p).map((x) => [x.name, x]));
    expect(e.openat).toMatchObject({ risk: 'default', purpose: expect.stringMatching(/paths/) });
    expect(e.ptrace).toMatchObject({ risk: 'capability', caps: ['CAP_SYS_PTRACE'] });
    expect(e.kexec_load).toMatchObject({ risk: 'not-in-default' });
  });
});

describe("the recorder's file", () => {
  const table = { arch: 'x64', syscalls: { read: 0, write: 1, openat: 257 } };
  it('names the calls of the host ABI and keeps the others apart; junk lines are ignored', () => {
    const text = ['3221225534 0', '3221225534 257', '1073741827 5', 'garbage', '3221225534 999', ''].join(
      '\n',
    );
    expect(readRecord(text, table, 'x64')).toEqual({
      names: ['openat', 'read'],
      unknown: ['arch 0x40000003 nr 5', 'arch 0xc000003e nr 999'],
    });
  });
});
