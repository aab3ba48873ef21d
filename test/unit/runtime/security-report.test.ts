/**
 * The security report's check of the spec against the running process (pure): a process with
 * more than the spec gave, without no_new_privs or seccomp, or whose root is host root, is a
 * mismatch the report names.
 */
import { describe, expect, it } from 'vitest';
import type { OciSpec } from '../../../src/runtime/oci.js';
import { capsOfMask, securityReport } from '../../../src/runtime/security-report.js';

const spec = {
  process: {
    capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
    noNewPrivileges: true,
  },
  root: { path: 'rootfs', readonly: true },
  mounts: [],
  linux: {
    namespaces: [{ type: 'pid' }],
    maskedPaths: [],
    readonlyPaths: [],
    seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] },
  },
} as unknown as OciSpec;
const rec = { id: 'a'.repeat(64), name: 'c', status: 'running' as const, limits: {}, options: {} } as never;
const maps = {
  uidMap: [{ containerID: 0, hostID: 1000, size: 1 }],
  gidMap: [{ containerID: 0, hostID: 1000, size: 1 }],
};
const status = (o: { eff?: string; bnd?: string; nnp?: string; seccomp?: string }) =>
  `Name:\tsleep\nCapEff:\t${o.eff ?? '0000000000000000'}\nCapBnd:\t${o.bnd ?? '0000000000000000'}\nCapAmb:\t0000000000000000\nCapPrm:\t0000000000000000\nNoNewPrivs:\t${o.nnp ?? '1'}\nSeccomp:\t${o.seccomp ?? '2'}\nSeccomp_filters:\t1\n`;

describe('the security report', () => {
  it('decodes capability masks by bit', () => {
    expect(capsOfMask('0000000000002000')).toEqual(['NET_RAW']);
    expect(capsOfMask('00000000a80425fb')).toContain('CHOWN');
  });

  it("reports Landlock from the spec's annotation (none in a spec without it)", () => {
    expect(securityReport(rec, spec, maps).landlock).toMatchObject({ enabled: false, abi: 0 });
    const ll = {
      ...spec,
      annotations: {
        'io.moat.landlock': JSON.stringify({
          enabled: true,
          abi: 7,
          mode: 'default',
          writable: ['/tmp'],
          writable_files: ['/dev', '/proc'],
        }),
      },
    } as OciSpec;
    // An annotation made before TCP rules has no `net`: not restricted.
    expect(securityReport(rec, ll, maps).landlock).toEqual({
      enabled: true,
      abi: 7,
      mode: 'default',
      writable: ['/tmp'],
      writable_files: ['/dev', '/proc'],
      net: { bind: null, connect: null },
    });
  });

  it('agrees when the process has what the spec gave', () => {
    const r = securityReport(rec, spec, maps, { status: status({}), uidMap: '0 1000 1\n' });
    expect(r.mismatches).toEqual([]);
    expect(r.live).toMatchObject({ noNewPrivs: true, seccompMode: 2, seccompFilters: 1 });
  });

  it('says which limits a cgroup holds, and names one set but held by none', () => {
    const limited = {
      ...(rec as object),
      limits: { memory: 1 << 26, pids: 100 },
      cgroups: { pids: '/sys/fs/cgroup/pids/x' },
    } as never;
    const r = securityReport(limited, spec, maps, { status: status({}), uidMap: '0 1000 1\n' });
    expect(r.limitsEnforced).toEqual({ memory: false, pids: true });
    expect(r.mismatches).toEqual(['limit memory is set but no memory cgroup holds it']);
  });

  it('names every way the process is less confined than the spec says', () => {
    const r = securityReport(rec, spec, maps, {
      status: status({ eff: '0000000000200000', bnd: '0000000000200000', nnp: '0', seccomp: '0' }),
      uidMap: '0 0 4294967295\n',
    });
    expect(r.mismatches).toEqual([
      'bounding capabilities: spec -, process SYS_ADMIN',
      'effective capabilities beyond the spec: SYS_ADMIN',
      'no_new_privs is not set on the process',
      'seccomp: the process is in mode 0, not filtered (2)',
      'container root is host root',
    ]);
  });
});
