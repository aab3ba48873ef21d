import { describe, expect, it } from 'vitest';
import { harden } from '../../../src/oci/harden.js';
import { OCI_DEFAULTS } from '../../../src/oci/config.js';
import { checkSpec, type CallerSpec } from '../../../src/oci/spec.js';
import {
  ALT_INIT_PATH,
  allowLandlockSyscalls,
  execPrefixOf,
  ociWritablePaths,
  type LandlockHost,
} from '../../../src/oci/landlock.js';
import { LANDLOCK_ANNOTATION, LANDLOCK_SYSCALLS } from '../../../src/runtime/spec/landlock.js';

const HOST: LandlockHost = { abi: 3, moatInit: '/opt/moat/dist/native/moat-init' };
const BUNDLE = '/run/c1/bundle';

/** A podman-like spec: --read-only with --tmpfs /w and -v /data:/d:ro. */
function spec(over: Partial<CallerSpec> = {}): CallerSpec {
  return checkSpec({
    ociVersion: '1.0.2',
    process: { args: ['sh', '-c', 'true'], env: ['PATH=/usr/bin:/bin', 'TERM=xterm'], cwd: '/srv' },
    root: { path: 'rootfs', readonly: true },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts' },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro'] },
      { destination: '/dev/shm', type: 'bind', source: '/run/shm/c1', options: ['bind', 'nosuid'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['rw'] },
      { destination: '/w/', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/d', type: 'bind', source: '/data', options: ['rbind', 'ro'] },
      { destination: '/etc/hosts', source: '/run/c1/hosts', options: ['rbind'] },
    ],
    linux: { namespaces: [{ type: 'mount' }] },
    ...over,
  } as unknown as CallerSpec);
}

const opts = (mode: 'enforce' | 'audit' | 'off', host: LandlockHost | undefined = HOST) => ({
  mode,
  capabilities: OCI_DEFAULTS.capabilities,
  pidsLimit: 0,
  arch: 'x64' as const,
  kernelVersion: '6.1.0',
  ...(host ? { landlock: { host, bundle: BUNDLE } } : {}),
});

const WRITABLE = ['/dev/mqueue', '/dev/shm', '/etc/hosts', '/tmp', '/w'];

describe('moat-runtime: the Landlock init', () => {
  it('writable set: the root when it is not read-only, else the writable tmpfs and binds, /dev/shm, /dev/mqueue', () => {
    expect(ociWritablePaths(spec({ root: { path: 'rootfs' } }))).toEqual(['/']);
    expect(ociWritablePaths(spec({ root: { path: 'rootfs', readonly: false } }))).toEqual(['/']);
    // /dev (a tmpfs) and /proc are files-only; ro mounts, sysfs and devpts are not writable.
    expect(ociWritablePaths(spec())).toEqual(WRITABLE);
  });

  it('enforce: moat-init mounted at /dev/init, before the command, with the check-exec hook and the annotation', () => {
    const input = spec();
    const before = JSON.stringify(input);
    const h = harden(input, opts('enforce'));
    expect(JSON.stringify(input)).toBe(before);
    expect(h.applied).toBe(true);
    const s = h.spec;
    const args = WRITABLE.flatMap((p) => ['--landlock-write', p]);
    expect(s.process!.args).toEqual([
      '/dev/init',
      ...args,
      '--landlock-write-files',
      '/dev',
      '--landlock-write-files',
      '/proc',
      '--',
      'sh',
      '-c',
      'true',
    ]);
    expect(s.mounts!.at(-1)).toEqual({
      destination: '/dev/init',
      type: 'bind',
      source: HOST.moatInit,
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
    expect((s.hooks as { createContainer: unknown[] }).createContainer).toEqual([
      {
        path: HOST.moatInit,
        args: ['moat-init', '--check-exec', `${BUNDLE}/rootfs`, '/srv', '/usr/bin:/bin', 'sh'],
      },
    ]);
    expect(JSON.parse(s.annotations![LANDLOCK_ANNOTATION])).toMatchObject({
      enabled: true,
      writable: WRITABLE,
      writable_files: ['/dev', '/proc'],
      init: '/dev/init',
    });
    const fields = h.changes.map((c) => c.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'mounts',
        'process.args',
        'hooks.createContainer',
        `annotations.${LANDLOCK_ANNOTATION}`,
      ]),
    );
    expect(h.changes.find((c) => c.field === 'process.args')!.change).toBe(
      `run under Landlock by /dev/init: writable ${WRITABLE.join(', ')}; files only in /dev, /proc`,
    );
    expect(h.landlock).toEqual({
      enabled: true,
      abi: 3,
      init: '/dev/init',
      writable: WRITABLE,
      writable_files: ['/dev', '/proc'],
      why_not: null,
    });
    // moat's default profile (set above) allows the three calls: no seccomp change for them.
    expect(h.changes.filter((c) => c.change.startsWith('allowed landlock'))).toEqual([]);
    // exec reads the same ruleset back.
    expect(execPrefixOf(s.annotations)).toEqual(s.process!.args!.slice(0, -3));
  });

  it('a caller’s hooks are kept; the check-exec hook comes after them', () => {
    const hook = { path: '/usr/bin/true' };
    const h = harden(spec({ hooks: { createContainer: [hook], poststop: [hook] } }), opts('enforce'));
    const hooks = h.spec.hooks as Record<string, unknown[]>;
    expect(hooks.createContainer).toHaveLength(2);
    expect(hooks.createContainer[0]).toEqual(hook);
    expect(hooks.poststop).toEqual([hook]);
  });

  it('a caller’s own /dev/init (podman --init): moat-init at /dev/moat-init runs it under the ruleset', () => {
    const s = spec();
    s.mounts!.push({
      destination: '/dev/init',
      type: 'bind',
      source: '/usr/libexec/podman/catatonit',
      options: ['bind', 'ro'],
    });
    s.process!.args = ['/dev/init', '--', 'sh'];
    const h = harden(s, opts('enforce'));
    expect(h.spec.process!.args![0]).toBe(ALT_INIT_PATH);
    expect(h.spec.process!.args!.slice(-3)).toEqual(['/dev/init', '--', 'sh']);
    expect(h.spec.mounts!.filter((m) => m.destination === '/dev/init')).toHaveLength(1);
    expect(h.spec.mounts!.at(-1)!.destination).toBe(ALT_INIT_PATH);
    expect(execPrefixOf(h.spec.annotations)[0]).toBe(ALT_INIT_PATH);
    // Both taken: not applied, and why.
    s.mounts!.push({ destination: ALT_INIT_PATH, type: 'bind', source: '/x', options: ['bind'] });
    const none = harden(s, opts('enforce'));
    expect(none.spec.process!.args).toEqual(['/dev/init', '--', 'sh']);
    expect(none.landlock!.enabled).toBe(false);
    expect(none.landlock!.why_not).toBe('the spec mounts its own /dev/init and /dev/moat-init');
  });

  it('no Landlock on the host, moat-init not built, no command: the spec is not changed for it, and why', () => {
    for (const [host, why, s] of [
      [{ abi: 0, moatInit: HOST.moatInit }, 'this kernel does not offer Landlock', spec()],
      [{ abi: 3 }, "moat's init (moat-init) was not built (it needs gcc at install)", spec()],
      [HOST, 'the spec has no process.args', spec({ process: { args: [] } })],
    ] as const) {
      const h = harden(s, opts('enforce', host));
      expect(h.landlock).toMatchObject({ enabled: false, why_not: why, writable: [] });
      expect(h.spec.process!.args).toEqual(s.process!.args);
      expect(h.spec.mounts).toEqual(s.mounts);
      expect(h.spec.hooks).toBeUndefined();
      expect(h.spec.annotations?.[LANDLOCK_ANNOTATION]).toBeUndefined();
      expect(h.changes.map((c) => c.field)).not.toContain('process.args');
    }
  });

  it('a caller’s own io.moat.landlock annotation is removed: it is moat’s', () => {
    const forged = JSON.stringify({ enabled: true, writable: ['/'] });
    const h = harden(
      spec({ annotations: { [LANDLOCK_ANNOTATION]: forged, other: 'x' } }),
      opts('enforce', { abi: 0 }),
    );
    expect(h.spec.annotations).toEqual({ other: 'x' });
    expect(h.changes).toContainEqual({
      field: `annotations.${LANDLOCK_ANNOTATION}`,
      change: "removed (the caller's; it is moat's)",
    });
    expect(execPrefixOf(h.spec.annotations)).toEqual([]);
  });

  it('audit lists the changes and applies none; off has none', () => {
    const input = spec();
    const audit = harden(input, opts('audit'));
    expect(audit.applied).toBe(false);
    expect(audit.spec).toBe(input);
    expect(audit.spec.process!.args).toEqual(['sh', '-c', 'true']);
    expect(audit.changes.map((c) => c.field)).toEqual(expect.arrayContaining(['mounts', 'process.args']));
    expect(audit.landlock!.enabled).toBe(true);
    const off = harden(input, opts('off'));
    expect(off.changes).toEqual([]);
    expect(off.spec).toBe(input);
    expect(off.landlock).toBeUndefined();
  });

  it('a caller’s filter without the Landlock calls gets an allow rule for exactly those three', () => {
    const caller = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['read', 'write', 'landlock_add_rule'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }],
        },
        { names: ['landlock_create_ruleset'], action: 'SCMP_ACT_ERRNO' },
      ],
    };
    const h = harden(spec({ linux: { seccomp: caller } }), opts('enforce'));
    const sc = h.spec.linux!.seccomp as {
      defaultAction: string;
      syscalls: { names: string[]; action: string }[];
    };
    expect(sc.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(sc.syscalls).toEqual([
      {
        names: ['read', 'write'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }],
      },
      { names: [...LANDLOCK_SYSCALLS], action: 'SCMP_ACT_ALLOW' },
    ]);
    expect(h.changes).toContainEqual({
      field: 'linux.seccomp',
      change:
        'allowed landlock_create_ruleset, landlock_add_rule, landlock_restrict_self (moat-init makes the Landlock ruleset; they only restrict the caller)',
    });
    // A filter that allows them already, or none at all: unchanged.
    expect(allowLandlockSyscalls({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] })).toBeUndefined();
    expect(allowLandlockSyscalls(undefined)).toBeUndefined();
    // Without Landlock on the host, the filter is left as the caller's.
    const no = harden(spec({ linux: { seccomp: caller } }), opts('enforce', { abi: 0 }));
    expect(no.spec.linux!.seccomp).toEqual(caller);
  });

  it('harden without the host’s Landlock (not looked up) applies none', () => {
    const { landlock: _l, ...noHost } = opts('enforce');
    const h = harden(spec(), noHost);
    expect(h.landlock).toMatchObject({ enabled: false, why_not: "the host's Landlock was not looked up" });
    expect(h.spec.process!.args).toEqual(['sh', '-c', 'true']);
  });
});
