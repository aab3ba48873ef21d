import { describe, expect, it } from 'vitest';
import { ociSummary } from '../../../src/oci/facts.js';
import { checkSpec } from '../../../src/oci/spec.js';

const hardening = { mode: 'enforce', changes: [], applied: true };

describe('what the policy sees of a caller’s spec', () => {
  it('devices by number, device cgroup allow rules that open devices, sysctls, the AppArmor profile', () => {
    const spec = checkSpec({
      root: { path: '/tmp/rootfs' },
      process: { apparmorProfile: 'unconfined' },
      linux: {
        devices: [
          { path: '/dev/null', type: 'c', major: 1, minor: 3 },
          { path: '/dev/null', type: 'b', major: 8, minor: 0 },
        ],
        resources: {
          devices: [
            { allow: false, access: 'rwm' },
            { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
            { allow: true, type: 'c', major: 136, access: 'rwm' },
            { allow: true, access: 'rwm' },
            { allow: true, type: 'b', major: 8, minor: 0 },
          ],
        },
        sysctl: { 'kernel/msgmax': '65536', 'net.ipv4.ping_group_range': '0 0' },
      },
    });
    const o = ociSummary(spec, '/tmp', hardening);
    expect(o.devices).toEqual([
      { path: '/dev/null', device: 'c 1:3' },
      { path: '/dev/null', device: 'b 8:0' },
    ]);
    // the deny-all rule and mknod-only rules open nothing; no access given is rwm
    expect(o.device_rules).toEqual([
      { device: 'c 136:*', access: 'rwm' },
      { device: 'a *:*', access: 'rwm' },
      { device: 'b 8:0', access: 'rwm' },
    ]);
    expect(o.sysctls).toEqual(['kernel.msgmax', 'net.ipv4.ping_group_range']);
    expect(o.apparmor_profile).toBe('unconfined');
  });

  it('seccomp: the summary and, from the hardening, the kind and what it lets through that moat blocks', () => {
    const spec = checkSpec({
      root: { path: '/tmp/rootfs' },
      linux: {
        seccomp: {
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [{ names: ['bpf'], action: 'SCMP_ACT_ALLOW' }],
        },
      },
    });
    const o = ociSummary(spec, '/tmp', hardening, { kind: 'custom', looser: ['bpf'], looser_count: 1 });
    expect(o.seccomp).toEqual({
      present: true,
      default_action: 'SCMP_ACT_ERRNO',
      rule_count: 1,
      kind: 'custom',
      looser: ['bpf'],
      looser_count: 1,
    });
  });

  it('none of them: empty lists and a null profile', () => {
    const o = ociSummary(checkSpec({ root: { path: '/tmp/rootfs' } }), '/tmp', hardening);
    expect([o.devices, o.device_rules, o.sysctls, o.apparmor_profile]).toEqual([[], [], [], null]);
  });
});
