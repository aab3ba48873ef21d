/**
 * Landlock's TCP rules (spec/landlock.ts, ABI ≥ 4): `--security-opt landlock-bind=` and
 * `landlock-connect=` parsed and checked, the declared ports, what moat-init is given (run and
 * exec), what the policy sees, and a kernel below ABI 4 (default: a warning; strict: refused).
 */
import { describe, expect, it } from 'vitest';
import { runOptionsFromDocker } from '../../../src/api/docker/index.js';
import { landlockOfSpec, runSummary } from '../../../src/api/policy-hook.js';
import { runBody } from '../../../src/api/schemas.js';
import type { MoatError } from '../../../src/errors.js';
import { planNetwork } from '../../../src/runtime/network/plan.js';
import { parseExpose } from '../../../src/runtime/network/ports.js';
import { runOptionProblems } from '../../../src/runtime/option-checks.js';
import {
  defaultRunOptions,
  LANDLOCK_MAX_PORTS,
  parseSecurityOpt,
  type RunOptions,
} from '../../../src/runtime/options.js';
import { generateSpec, type SpecHost, type SpecInput } from '../../../src/runtime/spec/index.js';
import { declaredPorts, execPrefix, requestedNet } from '../../../src/runtime/spec/landlock.js';
import type { ImageRunConfig } from '../../../src/runtime/spec/types.js';
import { SECCOMP, sub } from './landlock-fixtures.js';
import { lazyValidator } from '../../../src/util/schema.js';

const host = (abi: number): SpecHost => ({
  arch: 'x64',
  rlimits: {},
  moatInit: '/m/moat-init',
  landlockAbi: abi,
});

function input(over: Partial<RunOptions> = {}, abi = 6, image: ImageRunConfig = {}): SpecInput {
  return {
    id: 'c'.repeat(64),
    opts: { ...defaultRunOptions('busybox'), ...over },
    image: { Cmd: ['sh'], Env: ['PATH=/bin'], ...image },
    idmaps: sub as Exclude<typeof sub, { error: string }>,
    host: host(abi),
    paths: { rootfs: '/r/rootfs' },
    seccomp: SECCOMP,
  };
}

/** moat-init's options (between /dev/init and `--`). */
const initOpts = (args: string[]): string[] => args.slice(1, args.indexOf('--'));
const optValue = (args: string[], name: string): string | undefined => {
  const i = initOpts(args).indexOf(name);
  return i < 0 ? undefined : initOpts(args)[i + 1];
};
const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as MoatError).code;
  }
  return undefined;
};

describe('--security-opt landlock-bind= / landlock-connect=', () => {
  it('takes a comma list of TCP ports 0-65535, sorted and each once; none; declared (bind only)', () => {
    expect(parseSecurityOpt('landlock-bind=8443,80,8443')).toEqual({ landlockBind: [80, 8443] });
    expect(parseSecurityOpt('landlock-connect=0,65535')).toEqual({ landlockConnect: [0, 65535] });
    expect(parseSecurityOpt('landlock-bind:none')).toEqual({ landlockBind: [] });
    expect(parseSecurityOpt('landlock-connect=none')).toEqual({ landlockConnect: [] });
    expect(parseSecurityOpt('landlock-bind=declared')).toEqual({ landlockBind: 'declared' });
  });
  it.each([
    ['landlock-bind=', /no ports given/],
    ['landlock-bind=8080,', /"" is not a port number/],
    ['landlock-bind=,80', /"" is not a port number/],
    ['landlock-bind=80,,81', /"" is not a port number/],
    ['landlock-bind=65536', /port 65536 is out of range \(0-65535\)/],
    ['landlock-bind=-1', /"-1" is not a port number/],
    ['landlock-bind= 80', /" 80" is not a port number/],
    ['landlock-bind=80/udp', /"80\/udp" is not a port number/],
    ['landlock-bind=8000-8010', /"8000-8010" is not a port number/],
    ['landlock-bind=123456', /"123456" is not a port number/],
    ['landlock-connect=declared', /"declared" is not a port number/],
    ['landlock-connect=http', /"http" is not a port number/],
  ])('refuses %s with a clear message', (opt, why) => {
    expect(code(() => parseSecurityOpt(opt))).toBe('RUNTIME_INVALID_OPTION');
    expect(() => parseSecurityOpt(opt)).toThrow(why);
    expect(() => parseSecurityOpt(opt)).toThrow(/^invalid --security-opt landlock-(bind|connect)=/);
  });
  it(`refuses more than ${LANDLOCK_MAX_PORTS} ports`, () => {
    const many = Array.from({ length: LANDLOCK_MAX_PORTS + 1 }, (_, i) => i + 1).join(',');
    expect(() => parseSecurityOpt(`landlock-bind=${many}`)).toThrow(/more than 1024 ports/);
    const enough = Array.from({ length: LANDLOCK_MAX_PORTS }, (_, i) => i + 1).join(',');
    expect(parseSecurityOpt(`landlock-bind=${enough}`).landlockBind).toHaveLength(LANDLOCK_MAX_PORTS);
  });
  it('landlock=off with a TCP rule is a conflict (every way in: the option checks)', () => {
    const p = runOptionProblems({ ...defaultRunOptions('x'), landlock: 'off', landlockConnect: [80] });
    expect(p.map((x) => x.message)).toEqual([
      'conflicting options: --security-opt landlock=off and landlock-connect=',
    ]);
    expect(code(() => generateSpec(input({ landlock: 'off', landlockBind: 'declared' })))).toBe(
      'RUNTIME_INVALID_OPTION',
    );
    expect(runOptionProblems({ ...defaultRunOptions('x'), landlock: 'strict', landlockBind: [80] })).toEqual(
      [],
    );
  });
  it('the API schema takes the same values, and no others', () => {
    const validate = lazyValidator('test:landlock-net:runBody', runBody, {
      allErrors: true,
      useDefaults: true,
    });
    const ok = (o: Record<string, unknown>) => validate({ options: { ...defaultRunOptions('x'), ...o } });
    expect(ok({ landlockBind: 'declared', landlockConnect: [] })).toBe(true);
    expect(ok({ landlockBind: [0, 80, 65535], landlockConnect: [443] })).toBe(true);
    expect(ok({ expose: ['80/tcp', '53/udp', '8080'] })).toBe(true);
    expect(ok({ landlockBind: 'all' })).toBe(false);
    expect(ok({ landlockBind: [65536] })).toBe(false);
    expect(ok({ landlockConnect: 'declared' })).toBe(false);
    expect(ok({ landlockConnect: [1.5] })).toBe(false);
    expect(ok({ expose: ['80/sctp'] })).toBe(false);
  });
});

describe('declared ports', () => {
  it("-p's and --expose's tcp container ports and the image's EXPOSEd tcp ones; not udp, ranges or junk", () => {
    const opts: RunOptions = {
      ...defaultRunOptions('x'),
      ports: [
        { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      ],
      expose: ['9000/tcp', '5353/udp', '9000/tcp'],
    };
    const image = {
      ExposedPorts: { '443': {}, '80/tcp': {}, '1000-2000/tcp': {}, '123/udp': {}, '0/tcp': {} },
    };
    expect(declaredPorts(opts, image)).toEqual([80, 443, 9000]);
    expect(declaredPorts(defaultRunOptions('x'), { ExposedPorts: null })).toEqual([]);
  });
  it('landlock=strict means landlock-bind=declared unless landlock-bind is given', () => {
    const image = { ExposedPorts: { '8080/tcp': {} } };
    expect(requestedNet({ ...defaultRunOptions('x'), landlock: 'strict' }, image)).toEqual({
      bind: [8080],
      connect: null,
    });
    expect(
      requestedNet({ ...defaultRunOptions('x'), landlock: 'strict', landlockBind: [1, 2] }, image),
    ).toEqual({
      bind: [1, 2],
      connect: null,
    });
    expect(requestedNet(defaultRunOptions('x'), image)).toEqual({ bind: null, connect: null });
  });
  it("-P publishes --expose's ports with the image's, each once", () => {
    const o = { ...defaultRunOptions('x'), publishAll: true, expose: ['7070/tcp', '80/tcp', '53/udp'] };
    const planned = planNetwork(o, { '80/tcp': {} });
    expect(planned.network).toBe('slirp4netns');
    expect(planned.ports?.map((p) => `${p.containerPort}/${p.protocol}`).sort()).toEqual([
      '53/udp',
      '7070/tcp',
      '80/tcp',
    ]);
    // Without -P, --expose publishes nothing (and needs no network).
    expect(planNetwork({ ...o, publishAll: false }, {}).network).toBe('none');
  });
  it('--expose PORT[/tcp|/udp], one port', () => {
    expect(parseExpose('8080')).toBe('8080/tcp');
    expect(parseExpose('53/UDP')).toBe('53/udp');
    for (const bad of ['0', '65536', '80-90', '80/sctp', 'x', ''])
      expect(
        code(() => parseExpose(bad)),
        bad,
      ).toBe('RUNTIME_INVALID_OPTION');
  });
});

describe('TCP rules in the spec (ABI ≥ 4)', () => {
  it('default: no TCP rule, nothing more for moat-init than before', () => {
    const { spec, landlock } = generateSpec(input());
    expect(landlock.net).toEqual({ bind: null, connect: null });
    expect(spec.process.args.join(' ')).not.toMatch(/--landlock-(bind|connect)/);
  });
  it('explicit lists: moat-init gets them as numbers; the annotation and the policy see them; exec applies the same', () => {
    const opts = { landlockBind: [8080, 9090], landlockConnect: [8080] };
    const { spec, landlock, warnings } = generateSpec(input(opts));
    expect(warnings).toEqual([]);
    expect(landlock.net).toEqual({ bind: [8080, 9090], connect: [8080] });
    expect(optValue(spec.process.args, '--landlock-bind')).toBe('8080,9090');
    expect(optValue(spec.process.args, '--landlock-connect')).toBe('8080');
    expect(spec.process.args.slice(-2)).toEqual(['--', 'sh']);
    const stored = landlockOfSpec(spec.annotations);
    expect(stored.net).toEqual({ bind: [8080, 9090], connect: [8080] });
    const run = runSummary({ opts: input(opts).opts, spec, limits: {} } as Parameters<typeof runSummary>[0]);
    expect(run.landlock).toMatchObject({ net: { bind: [8080, 9090], connect: [8080] } });
    // moat exec: the ruleset read back from the stored spec, the same options.
    const pre = execPrefix(stored);
    expect(pre.slice(0, 1)).toEqual(['/dev/init']);
    expect(pre.join(' ')).toContain('--landlock-bind 8080,9090 --landlock-connect 8080');
    expect(pre.slice(-3)).toEqual(['--error-fd', '3', '--']);
  });
  it('declared: -p and the image EXPOSE; an empty declared set is no TCP bind at all (none)', () => {
    const ports = [{ hostIp: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' as const }];
    const d = generateSpec(input({ landlockBind: 'declared', ports }, 6, { ExposedPorts: { '80/tcp': {} } }));
    expect(d.landlock.net.bind).toEqual([80, 8080]);
    expect(optValue(d.spec.process.args, '--landlock-bind')).toBe('80,8080');
    const none = generateSpec(input({ landlockBind: 'declared' }));
    expect(none.landlock.net).toEqual({ bind: [], connect: null });
    expect(optValue(none.spec.process.args, '--landlock-bind')).toBe('none');
    expect(landlockOfSpec(none.spec.annotations).net.bind).toEqual([]);
  });
  it('strict: the declared ports, with --landlock-strict', () => {
    const ports = [{ hostIp: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' as const }];
    const { spec, landlock } = generateSpec(input({ landlock: 'strict', ports }));
    expect(landlock.net).toEqual({ bind: [8080], connect: null });
    expect(initOpts(spec.process.args)).toEqual(
      expect.arrayContaining(['--landlock-bind', '8080', '--landlock-strict']),
    );
  });
  it('an annotation whose ports are not all ports says nothing reliable: not restricted', () => {
    const a = (net: unknown) => ({
      'io.moat.landlock': JSON.stringify({ enabled: true, abi: 6, mode: 'default', writable: [], net }),
    });
    expect(landlockOfSpec(a({ bind: [80, 'x'], connect: [70000] })).net).toEqual({
      bind: null,
      connect: null,
    });
    expect(landlockOfSpec(a({ bind: [], connect: [443] })).net).toEqual({ bind: [], connect: [443] });
    expect(landlockOfSpec(a('junk')).net).toEqual({ bind: null, connect: null });
  });
});

describe('a kernel below Landlock ABI 4', () => {
  it('default: not applied, with a warning that says what and why', () => {
    const { spec, landlock, warnings } = generateSpec(input({ landlockBind: [8080] }, 3));
    expect(landlock.enabled).toBe(true);
    expect(landlock.net).toEqual({ bind: null, connect: null });
    expect(spec.process.args.join(' ')).not.toMatch(/--landlock-(bind|connect)/);
    expect(warnings).toEqual([
      "Landlock's TCP rules (--security-opt landlock-bind/landlock-connect) are not applied: this kernel's Landlock ABI is 3; TCP rules need ABI 4 (Linux 6.7); TCP bind and connect are not restricted (landlock=strict refuses to run without them)",
    ]);
  });
  it('strict with a TCP rule asked for: refused to create, saying why', () => {
    let err: MoatError | undefined;
    try {
      generateSpec(input({ landlock: 'strict', landlockConnect: [443] }, 3));
    } catch (e) {
      err = e as MoatError;
    }
    expect(err?.code).toBe('RUNTIME_INVALID_OPTION');
    expect(err?.message).toMatch(
      /landlock=strict with landlock-bind\/landlock-connect: Landlock's TCP rules cannot be applied: this kernel's Landlock ABI is 3; TCP rules need ABI 4/,
    );
  });
  it('strict alone still runs (as before): its implied bind rule is not applied, and a warning says so', () => {
    const { landlock, warnings } = generateSpec(input({ landlock: 'strict' }, 3));
    expect(landlock.enabled).toBe(true);
    expect(landlock.net).toEqual({ bind: null, connect: null });
    expect(warnings).toEqual([
      "landlock=strict's TCP bind rule (the declared ports) is not applied: this kernel's Landlock ABI is 3; TCP rules need ABI 4 (Linux 6.7); TCP bind is not restricted",
    ]);
  });
  it('no Landlock at all: the one warning about Landlock, and the TCP rules not applied either', () => {
    const { landlock, warnings } = generateSpec(input({ landlockBind: [80] }, 0));
    expect(landlock.net).toEqual({ bind: null, connect: null });
    expect(warnings[0]).toMatch(/^Landlock is not applied: this kernel does not offer Landlock/);
    expect(warnings[1]).toMatch(
      /^Landlock's TCP rules .* are not applied: this kernel does not offer Landlock/,
    );
  });
});

describe("Docker's create body", () => {
  const body = (extra: Record<string, unknown>, hc: Record<string, unknown> = {}) => ({
    Image: 'busybox',
    HostConfig: hc,
    ...extra,
  });
  it('takes landlock-bind= and landlock-connect= in SecurityOpt, and ExposedPorts as --expose', () => {
    const o = runOptionsFromDocker(
      body(
        { ExposedPorts: { '8080/tcp': {}, '53/udp': {} } },
        { SecurityOpt: ['landlock-bind=declared', 'landlock-connect=8080,443'] },
      ),
      null,
    );
    expect(o.landlockBind).toBe('declared');
    expect(o.landlockConnect).toEqual([443, 8080]);
    expect(o.expose).toEqual(['8080/tcp', '53/udp']);
    expect(code(() => runOptionsFromDocker(body({}, { SecurityOpt: ['landlock-bind=x'] }), null))).toBe(
      'RUNTIME_INVALID_OPTION',
    );
  });
});
