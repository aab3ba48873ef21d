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
    expect(o).toMatchObject({ spec: input, changes: [], applied: false, seccomp: { kind: 'none' } });
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

describe('a caller’s looser seccomp filter', () => {
  const withFilter = (sc: Record<string, unknown>) => {
    const s = spec();
    s.linux!.seccomp = sc;
    return s;
  };
  type Filter = { defaultAction: string; syscalls: { names: string[]; action: string; args?: unknown[] }[] };
  const rulesFor = (sc: unknown, name: string) =>
    (sc as Filter).syscalls
      .filter((r) => r.names.includes(name))
      .map((r) => ({ action: r.action, args: r.args }));

  it('enforce: a filter that lets through by default (a short deny list) is replaced by moat’s profile', () => {
    const input = withFilter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['reboot', 'kexec_load'], action: 'SCMP_ACT_ERRNO' }],
    });
    const h = harden(input, opts('enforce'));
    const sc = h.spec.linux!.seccomp as unknown as Filter;
    expect(sc.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(rulesFor(sc, 'unshare')).toEqual([]);
    expect(h.changes.find((c) => c.field === 'linux.seccomp')?.change).toMatch(
      /^filter that lets through what it does not name \(default action SCMP_ACT_ALLOW\) replaced by moat's default profile \(\d+ rules\)$/,
    );
    expect(h.seccomp).toMatchObject({ kind: 'default-allow', looser: ['defaultAction'] });
  });

  it('enforce: a blocking filter that allows what moat blocks is narrowed to moat’s rules for those syscalls', () => {
    const input = withFilter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read', 'write', 'unshare', 'mount', 'keyctl', 'bpf', 'clone'], action: 'SCMP_ACT_ALLOW' },
        { names: ['setns'], action: 'SCMP_ACT_LOG' },
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO' },
      ],
    });
    const h = harden(input, opts('enforce'));
    const sc = h.spec.linux!.seccomp as unknown as Filter;
    expect(sc.defaultAction).toBe('SCMP_ACT_ERRNO');
    for (const n of ['unshare', 'mount', 'keyctl', 'bpf', 'setns']) expect(rulesFor(sc, n), n).toEqual([]);
    expect(rulesFor(sc, 'read')).toEqual([{ action: 'SCMP_ACT_ALLOW', args: undefined }]);
    expect(rulesFor(sc, 'chmod')).toEqual([{ action: 'SCMP_ACT_ERRNO', args: undefined }]);
    // clone: only with moat's argument conditions (no namespace flags without CAP_SYS_ADMIN)
    const clone = rulesFor(sc, 'clone');
    expect(clone.length).toBeGreaterThan(0);
    expect(
      clone.every((r) => r.action === 'SCMP_ACT_ALLOW' && Array.isArray(r.args) && r.args.length > 0),
    ).toBe(true);
    expect(h.seccomp).toEqual({
      kind: 'custom',
      looser: ['bpf', 'clone', 'keyctl', 'mount', 'setns', 'unshare'],
      looser_count: 6,
    });
    expect(h.changes.find((c) => c.field === 'linux.seccomp')?.change).toBe(
      "narrowed to moat's default profile for what it let through further (bpf, clone, keyctl, mount, setns, unshare)",
    );
    // audit: the same change listed, the caller's filter kept
    const a = harden(input, opts('audit'));
    expect(a.spec.linux!.seccomp).toEqual(input.linux!.seccomp);
    expect(a.changes.find((c) => c.field === 'linux.seccomp')?.change).toMatch(/^narrowed/);
  });

  it('a filter on an architecture moat does not filter, or with SPEC_ALLOW, loses them', () => {
    const h = harden(
      withFilter({
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_MIPS'],
        flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
      }),
      opts('enforce'),
    );
    const sc = h.spec.linux!.seccomp as { architectures: string[]; flags: string[] };
    expect(sc.architectures).toEqual(['SCMP_ARCH_X86_64']);
    expect(sc.flags).toEqual([]);
    expect(h.seccomp?.looser).toEqual(['architectures', 'flags']);
  });

  it('refuses a filter whose rules runc could not read as moat does', () => {
    for (const sc of [
      { syscalls: [] },
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: 'mount', action: 'SCMP_ACT_ALLOW' }] },
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{}] }],
      },
    ])
      expect(() => checkSpec({ root: { path: 'r' }, linux: { seccomp: sc } })).toThrow(OciError);
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
