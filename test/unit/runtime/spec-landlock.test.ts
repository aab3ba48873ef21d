/** Landlock in the generated spec (spec/landlock.ts): the write set, the modes, moat-init as --init. */
import { describe, expect, it } from 'vitest';
import { generateSpec, type SpecHost, type SpecInput } from '../../../src/runtime/spec/index.js';
import {
  LANDLOCK_SYSCALLS,
  execPrefix,
  seccompAllowsLandlock,
  writablePaths,
} from '../../../src/runtime/spec/landlock.js';
import { defaultRunOptions, parseSecurityOpt, type RunOptions } from '../../../src/runtime/options.js';
import { landlockOfSpec, runSummary } from '../../../src/api/policy-hook.js';
import { runcReason, startError } from '../../../src/runtime/start-errors.js';
import { startFailureStatus } from '../../../src/runtime/runc.js';
import { SECCOMP, sub } from './landlock-fixtures.js';
import type { MoatError } from '../../../src/errors.js';

const LL: SpecHost = {
  arch: 'x64',
  rlimits: {},
  moatInit: '/m/moat-init',
  landlockAbi: 6,
  initPath: '/tini',
};

function input(over: Partial<RunOptions> = {}, host: SpecHost = LL): SpecInput {
  return {
    id: 'c'.repeat(64),
    opts: { ...defaultRunOptions('busybox'), ...over },
    image: { Cmd: ['sh'], Env: ['PATH=/usr/bin:/bin'], WorkingDir: '/w' },
    idmaps: sub as Exclude<typeof sub, { error: string }>,
    host,
    paths: { rootfs: '/r/rootfs' },
    seccomp: SECCOMP,
  };
}

const mountAt = (s: ReturnType<typeof generateSpec>['spec'], d: string) =>
  s.mounts.find((m) => m.destination === d);

describe('Landlock write set', () => {
  it('a read-only root: its scratch tmpfs, /dev/shm and /dev/mqueue, rw volumes and --tmpfs, not ro ones', () => {
    const opts = {
      ...defaultRunOptions('x'),
      volumes: [
        { host: '/h/a', container: '/data/', readonly: false },
        { host: '/h/b', container: '/conf', readonly: true },
      ],
      tmpfs: [
        { path: '/cache', options: [] },
        { path: '/seen', options: ['ro'] },
      ],
    };
    expect(writablePaths(opts)).toEqual(['/cache', '/data', '/dev/mqueue', '/dev/shm', '/run', '/tmp']);
  });
  it('--read-write: the whole root', () => {
    expect(writablePaths({ ...defaultRunOptions('x'), readWrite: true })).toEqual(['/']);
  });
  it('a user mount over /tmp replaces the scratch tmpfs: a read-only one leaves /tmp read-only', () => {
    const opts = { ...defaultRunOptions('x'), volumes: [{ host: '/h', container: '/tmp', readonly: true }] };
    expect(writablePaths(opts)).not.toContain('/tmp');
  });
});

describe('Landlock in the spec', () => {
  it('by default moat-init is PID 1 and execs the command: Landlock args, then --, then the command', () => {
    const { spec, warnings, landlock } = generateSpec(input());
    expect(warnings).toEqual([]);
    expect(spec.process.args).toEqual([
      '/dev/init',
      ...['--landlock-write', '/dev/mqueue', '--landlock-write', '/dev/shm'],
      ...['--landlock-write', '/run', '--landlock-write', '/tmp'],
      ...['--landlock-write-files', '/dev', '--landlock-write-files', '/proc'],
      '--',
      'sh',
    ]);
    expect(mountAt(spec, '/dev/init')).toMatchObject({
      source: '/m/moat-init',
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
    // runc looks the command up through moat-init, in the container's root, before it starts.
    expect(spec.hooks?.createContainer).toEqual([
      { path: '/m/moat-init', args: ['moat-init', '--check-exec', '/r/rootfs', '/w', '/usr/bin:/bin', 'sh'] },
    ]);
    expect(landlock).toEqual({
      enabled: true,
      abi: 6,
      mode: 'default',
      writable: ['/dev/mqueue', '/dev/shm', '/run', '/tmp'],
      writable_files: ['/dev', '/proc'],
      net: { bind: null, connect: null },
    });
    expect(JSON.parse(spec.annotations['io.moat.landlock'])).toEqual(landlock);
  });
  it('landlock=off: the command itself, no init, no hook', () => {
    const { spec, landlock } = generateSpec(input({ landlock: 'off' }));
    expect(spec.process.args).toEqual(['sh']);
    expect(mountAt(spec, '/dev/init')).toBeUndefined();
    expect(spec.hooks).toBeUndefined();
    expect(landlock).toMatchObject({ enabled: false, mode: 'off', writable: [] });
  });
  it('landlock=strict: moat-init refuses to run without Landlock too', () => {
    const { spec } = generateSpec(input({ landlock: 'strict' }));
    expect(spec.process.args).toContain('--landlock-strict');
  });
  it('--init: moat-init reaps (with or without Landlock); tini only when moat-init is not built', () => {
    const on = generateSpec(input({ init: true })).spec.process.args;
    expect(on.slice(-5)).toEqual(['--landlock-write-files', '/proc', '--reap', '--', 'sh']);
    const off = generateSpec(input({ init: true, landlock: 'off' })).spec;
    expect(off.process.args).toEqual(['/dev/init', '--landlock-off', '--reap', '--', 'sh']);
    expect(mountAt(off, '/dev/init')?.source).toBe('/m/moat-init');
    const tini = generateSpec(input({ init: true }, { ...LL, moatInit: undefined })).spec;
    expect(tini.process.args).toEqual(['/dev/init', '--', 'sh']);
    expect(mountAt(tini, '/dev/init')?.source).toBe('/tini');
    expect(tini.hooks).toBeUndefined();
  });
  it('a host without Landlock: the container runs without it, with a warning; strict refuses', () => {
    const none = { ...LL, landlockAbi: 0 };
    const r = generateSpec(input({}, none));
    expect(r.spec.process.args).toEqual(['sh']);
    expect(r.landlock.enabled).toBe(false);
    expect(r.warnings).toEqual([
      expect.stringMatching(/^Landlock is not applied: this kernel does not offer Landlock/),
    ]);
    let err: MoatError | undefined;
    try {
      generateSpec(input({ landlock: 'strict' }, none));
    } catch (e) {
      err = e as MoatError;
    }
    expect(err?.code).toBe('RUNTIME_INVALID_OPTION');
    expect(err?.message).toMatch(/landlock=strict: this kernel does not offer Landlock/);
    // No warning when it was turned off on purpose.
    expect(generateSpec(input({ landlock: 'off' }, none)).warnings).toEqual([]);
  });
});

describe('moat exec under the ruleset', () => {
  it("moat-init with the container's rules, telling on fd 3 why a command cannot run; nothing without Landlock", () => {
    const { landlock } = generateSpec(
      input({ volumes: [{ host: '/h', container: '/data', readonly: false }] }),
    );
    const p = execPrefix(landlock);
    expect(p[0]).toBe('/dev/init');
    expect(p).toContain('/data');
    expect(p.slice(-3)).toEqual(['--error-fd', '3', '--']);
    expect(p).not.toContain('--reap');
    expect(execPrefix(generateSpec(input({ landlock: 'off' })).landlock)).toEqual([]);
  });
});

describe('a seccomp profile that blocks Landlock', () => {
  it("is found in the filter: moat's default allows the calls; a profile without them does not", () => {
    expect(seccompAllowsLandlock(null)).toBe(true);
    expect(seccompAllowsLandlock(SECCOMP)).toBe(true);
    expect(seccompAllowsLandlock({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] })).toBe(true);
    // A learning run's recording profile: heard and let through.
    expect(
      seccompAllowsLandlock({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read', ...LANDLOCK_SYSCALLS], action: 'SCMP_ACT_NOTIFY' }],
      }),
    ).toBe(true);
    expect(
      seccompAllowsLandlock({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
      }),
    ).toBe(false);
    expect(
      seccompAllowsLandlock({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['landlock_restrict_self'], action: 'SCMP_ACT_ERRNO' }],
      }),
    ).toBe(false);
  });
  it('the container runs without Landlock, with a warning that says why; strict refuses', () => {
    const blocked = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    };
    const r = generateSpec({ ...input(), seccomp: blocked });
    expect(r.landlock.enabled).toBe(false);
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^Landlock is not applied: the seccomp profile does not allow landlock_create_ruleset/,
      ),
    ]);
    expect(() => generateSpec({ ...input({ landlock: 'strict' }), seccomp: blocked })).toThrow(
      /landlock=strict: the seccomp profile does not allow/,
    );
  });
});

describe('--security-opt landlock=', () => {
  it('off and strict; anything else is refused', () => {
    expect(parseSecurityOpt('landlock=off')).toEqual({ landlock: 'off' });
    expect(parseSecurityOpt('landlock:strict')).toEqual({ landlock: 'strict' });
    expect(() => parseSecurityOpt('landlock=maybe')).toThrow(/invalid --security-opt landlock=maybe/);
  });
});

describe('what the policy sees', () => {
  it('run.landlock from the spec (an older spec without the annotation: not enabled)', () => {
    const { spec } = generateSpec(input());
    const s = runSummary({ opts: input().opts, spec, limits: {} } as Parameters<typeof runSummary>[0]);
    expect(s.landlock).toMatchObject({
      enabled: true,
      abi: 6,
      mode: 'default',
      writable: expect.arrayContaining(['/tmp']),
    });
    expect(landlockOfSpec({}, 'strict')).toEqual({
      enabled: false,
      abi: 0,
      mode: 'strict',
      writable: [],
      writable_files: [],
      net: { bind: null, connect: null },
    });
    expect(landlockOfSpec({ 'io.moat.landlock': '{not json' }, undefined).enabled).toBe(false);
  });
});

describe("a command that is not there, said by moat-init's hook in runc's words", () => {
  const wrap = (status: number, stderr: string) =>
    `runc run failed: unable to start container process: error during container init: error running hook #0: error running hook: exit status ${status}, stdout: , stderr: ${stderr}`;
  it('is the same moat error as runc gives without moat-init', () => {
    const nf = wrap(127, 'exec: "nonexistent-cmd": executable file not found in $PATH');
    expect(runcReason(nf)).toBe('exec: "nonexistent-cmd": executable file not found in $PATH');
    const e = startError(nf, { kind: 'run', name: 'c' });
    expect(e.code).toBe('RUNTIME_COMMAND_NOT_FOUND');
    expect(e.message).toBe('cannot start c: "nonexistent-cmd": executable file not found in $PATH');
    expect(startFailureStatus(nf)).toBe(127);
    const nx = wrap(126, 'exec: "/etc/passwd": permission denied');
    expect(startError(nx, { kind: 'run', name: 'c' }).code).toBe('RUNTIME_COMMAND_NOT_EXECUTABLE');
    expect(startFailureStatus(nx)).toBe(126);
  });
  it("another hook's failure is left as it is", () => {
    const other = wrap(1, 'network: slirp4netns failed');
    expect(runcReason(other)).toMatch(/^error running hook #0/);
  });
});
