import { describe, expect, it } from 'vitest';
import { harden, seccompUnconfined } from '../../../src/oci/harden.js';
import { OCI_DEFAULTS } from '../../../src/oci/config.js';
import { checkSpec, type CallerSpec } from '../../../src/oci/spec.js';
import { OciError } from '../../../src/oci/errors.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../../src/runtime/spec/security.js';

const ALL = ['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_KILL'];

function spec(): CallerSpec {
  return checkSpec({
    ociVersion: '1.0.2',
    process: {
      args: ['sh'],
      capabilities: {
        bounding: [...ALL],
        effective: [...ALL],
        permitted: [...ALL],
        ambient: ['CAP_SYS_ADMIN'],
      },
    },
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'pid' }], maskedPaths: ['/proc/kcore'], cgroupsPath: '/default/c1' },
  });
}

const opts = (mode: 'enforce' | 'audit' | 'off') => ({
  mode,
  capabilities: OCI_DEFAULTS.capabilities,
  pidsLimit: 2048,
  arch: 'x64' as const,
  kernelVersion: '6.1.0',
});

describe('hardening a caller’s spec', () => {
  it('enforce: caps cut to the allow-list, no_new_privs, moat’s seccomp, masked paths, pids; each change listed', () => {
    const input = spec();
    const before = JSON.stringify(input);
    const h = harden(input, opts('enforce'));
    expect(JSON.stringify(input)).toBe(before); // the caller's object is not changed
    expect(h.applied).toBe(true);
    const caps = h.spec.process!.capabilities!;
    expect(caps.bounding).toEqual(['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_KILL']);
    expect(caps.ambient).toEqual([]);
    expect(h.spec.process!.noNewPrivileges).toBe(true);
    const sc = h.spec.linux!.seccomp as { defaultAction: string; syscalls: unknown[] };
    expect(sc.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(sc.syscalls.length).toBeGreaterThan(10);
    expect(h.spec.linux!.maskedPaths).toEqual([
      '/proc/kcore',
      ...MASKED_PATHS.filter((p) => p !== '/proc/kcore'),
    ]);
    expect(h.spec.linux!.readonlyPaths).toEqual(READONLY_PATHS);
    expect(h.spec.linux!.resources!.pids!.limit).toBe(2048);
    expect(h.changes.map((c) => c.field)).toEqual([
      'process.capabilities.bounding',
      'process.capabilities.effective',
      'process.capabilities.permitted',
      'process.capabilities.ambient',
      'process.noNewPrivileges',
      'linux.seccomp',
      'linux.maskedPaths',
      'linux.readonlyPaths',
      'linux.resources.pids.limit',
    ]);
    expect(h.changes[0].change).toBe('dropped CAP_SYS_ADMIN, CAP_NET_ADMIN');
  });

  it('audit lists the same changes and returns the spec as it came; off changes nothing', () => {
    const input = spec();
    const a = harden(input, opts('audit'));
    expect(a.applied).toBe(false);
    expect(a.spec).toBe(input);
    expect(a.changes.length).toBe(harden(spec(), opts('enforce')).changes.length);
    const o = harden(input, opts('off'));
    expect(o).toEqual({ spec: input, changes: [], applied: false });
  });

  it('keeps a caller’s confining filter; replaces an unconfined one; no pids limit without a cgroup', () => {
    const s = spec();
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    };
    delete s.linux!.cgroupsPath;
    const h = harden(s, opts('enforce'));
    expect(h.spec.linux!.seccomp).toEqual(s.linux!.seccomp);
    expect(h.spec.linux!.resources).toBeUndefined();
    expect(seccompUnconfined({ defaultAction: 'SCMP_ACT_ALLOW' })).toBe(true);
    expect(
      seccompUnconfined({ defaultAction: 'SCMP_ACT_LOG', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] }),
    ).toBe(true);
    expect(
      seccompUnconfined({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ERRNO' }] }),
    ).toBe(false);
  });
});

describe('the spec moat judges', () => {
  const code = (j: unknown) => {
    try {
      checkSpec(j);
    } catch (e) {
      return (e as OciError).code;
    }
    return 'accepted';
  };
  it('refuses keys runc would read as another field (Go matches JSON keys case-insensitively)', () => {
    const base = { root: { path: 'r' }, process: { args: ['x'] } };
    expect(code(base)).toBe('accepted');
    expect(code({ ...base, Process: { capabilities: { bounding: ['CAP_SYS_ADMIN'] } } })).toBe(
      'OCI_SPEC_INVALID',
    );
    expect(code({ ...base, process: { args: ['x'], Capabilities: {} } })).toBe('OCI_SPEC_INVALID');
    // U+017F (long s) folds to s in Go's encoding/json.
    expect(code({ ...base, proceſs: {} })).toBe('OCI_SPEC_INVALID');
    expect(code({ ...base, linux: { namespaces: [{ TYPE: 'pid' }] } })).toBe('OCI_SPEC_INVALID');
    // annotations are data: any key.
    expect(code({ ...base, annotations: { Process: 'x' } })).toBe('accepted');
  });
  it('refuses the wrong types where moat reads, and bounds nesting', () => {
    const base = { root: { path: 'r' } };
    expect(code({})).toBe('OCI_SPEC_INVALID');
    expect(code({ ...base, process: { capabilities: { bounding: 'CAP_SYS_ADMIN' } } })).toBe(
      'OCI_SPEC_INVALID',
    );
    expect(code({ ...base, linux: { namespaces: {} } })).toBe('OCI_SPEC_INVALID');
    expect(code({ ...base, annotations: { a: 1 } })).toBe('OCI_SPEC_INVALID');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(code({ ...base, x: deep })).toBe('OCI_SPEC_INVALID');
  });
});
