/** compareSeccomp: what the policy is told about a custom profile against moat's default. */
import { describe, expect, it } from 'vitest';
import {
  compareSeccomp,
  defaultProfile,
  resolveSeccomp,
  type SeccompProfile,
  type SeccompRule,
} from '../../../src/seccomp/index.js';

const resolve = (p: SeccompProfile, caps: string[] = []) =>
  resolveSeccomp(p, { capabilities: caps, arch: 'x64', kernelVersion: '6.1.0' });
const reference = (caps: string[] = []) => resolve(defaultProfile(), caps);

/** The default profile with `edit` applied to a fresh copy of its rules. */
function edited(edit: (rules: SeccompRule[]) => SeccompRule[]): SeccompProfile {
  const p = defaultProfile();
  return { ...p, syscalls: edit(p.syscalls ?? []) };
}

describe('compareSeccomp', () => {
  it('the default profile is not looser than itself, with or without capabilities', () => {
    for (const caps of [[], ['CAP_SYS_ADMIN'], ['CAP_NET_RAW', 'CAP_SYS_PTRACE']]) {
      const c = compareSeccomp(reference(caps), reference(caps));
      expect(c.looserThanDefault, caps.join()).toBe(false);
      expect(c.loosened).toEqual([]);
      expect(c.defaultAction).toBe('SCMP_ACT_ERRNO');
      expect(c.ruleCount).toBe(reference(caps).syscalls!.length);
    }
  });

  it('a Docker-style allow-by-default profile is looser, whatever it refuses', () => {
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat', 'keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const c = compareSeccomp(resolve(p), reference());
    expect(c.looserThanDefault).toBe(true);
    expect(c.loosened[0]).toBe('defaultAction');
    expect(c.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(c.ruleCount).toBe(1);
    // LOG lets calls through as ALLOW does; TRACE and NOTIFY hand the decision to someone else.
    for (const a of ['SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_NOTIFY'] as const)
      expect(compareSeccomp(resolve({ defaultAction: a }), reference()).looserThanDefault, a).toBe(true);
  });

  it('no filter at all is looser', () => {
    expect(compareSeccomp(null, reference())).toMatchObject({
      looserThanDefault: true,
      loosened: ['unconfined'],
    });
  });

  it('a profile that only takes calls away is not looser', () => {
    const p = edited((rules) =>
      rules
        .map((r) => ({ ...r, names: r.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat') }))
        .filter((r) => r.names.length > 0),
    );
    expect(compareSeccomp(resolve(p), reference()).looserThanDefault).toBe(false);
    // Killing instead of EPERM, or a different errno, takes nothing away from the check.
    const kill = { ...defaultProfile(), defaultAction: 'SCMP_ACT_KILL_PROCESS' as const };
    expect(compareSeccomp(resolve(kill), reference()).looserThanDefault).toBe(false);
  });

  it('allowing a call the default refuses is looser, and names the call', () => {
    const p = edited((rules) => [...rules, { names: ['keyctl', 'bpf'], action: 'SCMP_ACT_ALLOW' }]);
    const c = compareSeccomp(resolve(p), reference());
    expect(c.looserThanDefault).toBe(true);
    expect(c.loosened).toEqual(['bpf', 'keyctl']);
    expect(c.loosenedCount).toBe(2);
  });

  it('dropping the argument filter of a filtered call is looser; narrowing it is not', () => {
    // clone without conditions: namespaces become reachable.
    const any = edited((rules) => [...rules, { names: ['clone'], action: 'SCMP_ACT_ALLOW' }]);
    expect(compareSeccomp(resolve(any), reference()).loosened).toEqual(['clone']);
    // socket(AF_ALG): a family the default refuses.
    const alg = edited((rules) => [
      ...rules,
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 38, op: 'SCMP_CMP_EQ' }] },
    ]);
    expect(compareSeccomp(resolve(alg), reference()).loosened).toEqual(['socket']);
    // socket(AF_UNIX, SOCK_STREAM): narrower than the default's socket(AF_UNIX, any type).
    const narrow = edited((rules) => [
      ...rules.filter((r) => !r.names.includes('socket')),
      {
        names: ['socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 1, op: 'SCMP_CMP_EQ' },
        ],
      },
    ]);
    expect(compareSeccomp(resolve(narrow), reference()).looserThanDefault).toBe(false);
  });

  it('compares against the default for the same capabilities', () => {
    // With CAP_SYS_ADMIN the default itself allows any clone: a profile doing the same is not looser.
    const any = edited((rules) => [...rules, { names: ['clone', 'mount'], action: 'SCMP_ACT_ALLOW' }]);
    expect(
      compareSeccomp(resolve(any, ['CAP_SYS_ADMIN']), reference(['CAP_SYS_ADMIN'])).looserThanDefault,
    ).toBe(false);
    expect(compareSeccomp(resolve(any), reference()).loosened).toEqual(['clone', 'mount']);
  });

  it('another architecture, or SPEC_ALLOW, is looser', () => {
    const arches = {
      ...reference(),
      architectures: [...(reference().architectures ?? []), 'SCMP_ARCH_ARM' as const],
    };
    expect(compareSeccomp(arches, reference()).loosened).toEqual(['architectures']);
    const spec = { ...reference(), flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW' as const] };
    expect(compareSeccomp(spec, reference()).loosened).toEqual(['flags']);
  });

  it('lists at most 20 loosened entries but counts them all', () => {
    const names = Array.from({ length: 30 }, (_, i) => `made_up_${String(i).padStart(2, '0')}`);
    const p = edited((rules) => [...rules, { names, action: 'SCMP_ACT_ALLOW' }]);
    const c = compareSeccomp(resolve(p), reference());
    expect(c.loosened).toHaveLength(20);
    expect(c.loosenedCount).toBe(30);
  });
});
