import { describe, it, expect } from 'vitest';
import { defaultProfile, resolveSeccomp, type SeccompProfile } from '../../../src/seccomp/index.js';
import { allows, reachable } from './simulate.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('resolveSeccomp: capabilities', () => {
  it('CAP_SYS_ADMIN adds namespace and mount calls', () => {
    const without = resolveSeccomp(defaultProfile(), { capabilities: [], arch: 'x64' });
    const withAdmin = resolveSeccomp(defaultProfile(), { capabilities: ['CAP_SYS_ADMIN'], arch: 'x64' });
    for (const name of ['unshare', 'setns', 'mount', 'umount2', 'fsopen', 'sethostname', 'clone3']) {
      expect(allows(without, name), name).toBe(false);
      expect(allows(withAdmin, name), name).toBe(true);
    }
    expect(reachable(withAdmin).has('pivot_root')).toBe(false);
  });

  it('accepts capability names with or without the CAP_ prefix, in any case', () => {
    const a = resolveSeccomp(defaultProfile(), { capabilities: ['CAP_SYS_PTRACE'], arch: 'x64' });
    const b = resolveSeccomp(defaultProfile(), { capabilities: ['sys_ptrace'], arch: 'x64' });
    expect(b).toEqual(a);
    expect(allows(a, 'ptrace')).toBe(true);
  });

  it('requires every capability in includes.caps and drops a rule on any excluded one', () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['both'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_A', 'CAP_B'] } },
        { names: ['notc'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_C', 'CAP_D'] } },
      ],
    };
    const names = (caps: string[]) =>
      (resolveSeccomp(profile, { capabilities: caps, arch: 'x64' }).syscalls ?? []).flatMap((r) => r.names);
    expect(names(['CAP_A'])).toEqual(['notc']);
    expect(names(['CAP_A', 'CAP_B'])).toEqual(['both', 'notc']);
    expect(names(['CAP_A', 'CAP_B', 'CAP_D'])).toEqual(['both']);
  });
});

describe('resolveSeccomp: architectures', () => {
  it('picks the archMap entry of the host, with its sub-architectures', () => {
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ],
    };
    expect(resolveSeccomp(p, { capabilities: [], arch: 'x64' }).architectures).toEqual([
      'SCMP_ARCH_X86_64',
      'SCMP_ARCH_X86',
      'SCMP_ARCH_X32',
    ]);
    expect(resolveSeccomp(p, { capabilities: [], arch: 'arm64' }).architectures).toEqual([
      'SCMP_ARCH_AARCH64',
      'SCMP_ARCH_ARM',
    ]);
  });

  it('the default profile: the 64-bit ABI of the host and no 32-bit compat ABI', () => {
    expect(resolveSeccomp(defaultProfile(), { capabilities: [], arch: 'x64' }).architectures).toEqual([
      'SCMP_ARCH_X86_64',
    ]);
    expect(resolveSeccomp(defaultProfile(), { capabilities: [], arch: 'arm64' }).architectures).toEqual([
      'SCMP_ARCH_AARCH64',
    ]);
  });

  it('leaves only the native ABI for a host missing from archMap', () => {
    expect(resolveSeccomp(defaultProfile(), { capabilities: [], arch: 's390x' }).architectures).toEqual([]);
  });

  it('passes architectures through when there is no archMap, and omits them when absent', () => {
    const p: SeccompProfile = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'] };
    expect(resolveSeccomp(p, { capabilities: [], arch: 'arm64' }).architectures).toEqual([
      'SCMP_ARCH_X86_64',
    ]);
    expect(
      resolveSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }, { capabilities: [], arch: 'x64' }),
    ).not.toHaveProperty('architectures');
  });

  it('matches includes/excludes arches in Go or Node spelling', () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['only_amd'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
        { names: ['only_x64'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['x64'] } },
        { names: ['not_arm'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['arm64'] } },
      ],
    };
    const names = (arch: NodeJS.Architecture) =>
      (resolveSeccomp(profile, { capabilities: [], arch }).syscalls ?? []).flatMap((r) => r.names);
    expect(names('x64')).toEqual(['only_amd', 'only_x64', 'not_arm']);
    expect(names('arm64')).toEqual([]);
  });
});

describe('resolveSeccomp: kernel', () => {
  const profile: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['newcall'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.8' } }],
  };
  const names = (kernelVersion?: string) =>
    (resolveSeccomp(profile, { capabilities: [], arch: 'x64', kernelVersion }).syscalls ?? []).flatMap(
      (r) => r.names,
    );

  it('compares major.minor numerically', () => {
    expect(names('5.8.0-1-amd64')).toEqual(['newcall']);
    expect(names('5.10.0')).toEqual(['newcall']);
    expect(names('6.1.0-18-amd64')).toEqual(['newcall']);
    expect(names('5.7.19')).toEqual([]);
    expect(names('4.19.0')).toEqual([]);
  });

  it('refuses to guess when the kernel is not given', () => {
    expect(() => names()).toThrowError(expect.objectContaining({ code: 'SECCOMP_KERNEL_UNKNOWN' }));
  });
});

describe('resolveSeccomp: output shape', () => {
  it('keeps only OCI keys', () => {
    const spec = resolveSeccomp(defaultProfile(), { capabilities: ['CAP_NET_RAW'], arch: 'x64' });
    expect(Object.keys(spec).sort()).toEqual([
      'architectures',
      'defaultAction',
      'defaultErrnoRet',
      'syscalls',
    ]);
    for (const rule of spec.syscalls ?? []) {
      for (const key of Object.keys(rule)) expect(['names', 'action', 'errnoRet', 'args']).toContain(key);
      for (const arg of rule.args ?? []) {
        for (const key of Object.keys(arg)) expect(['index', 'value', 'valueTwo', 'op']).toContain(key);
      }
    }
  });

  it('folds plain rules with the same action and drops repeated names', () => {
    const spec = resolveSeccomp(defaultProfile(), {
      capabilities: ['CAP_BPF', 'CAP_SYS_ADMIN'],
      arch: 'x64',
    });
    const plainAllow = (spec.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args);
    expect(plainAllow).toHaveLength(1);
    expect(plainAllow[0].names.filter((n) => n === 'bpf')).toHaveLength(1);
    expect(new Set(plainAllow[0].names).size).toBe(plainAllow[0].names.length);
  });

  it('carries errnoRet, flags and listener fields', () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'meta',
      syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    };
    expect(resolveSeccomp(profile, { capabilities: [], arch: 'x64' })).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'meta',
      syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    });
  });

  it('is pure: same input, same output, input untouched', () => {
    const profile = deepFreeze(defaultProfile());
    const opts = deepFreeze({ capabilities: ['CAP_NET_RAW'], arch: 'x64' as const });
    const a = resolveSeccomp(profile, opts);
    const b = resolveSeccomp(profile, opts);
    expect(a).toEqual(b);
    a.syscalls?.[0].names.push('keyctl');
    expect(resolveSeccomp(profile, opts)).toEqual(b);
  });
});
