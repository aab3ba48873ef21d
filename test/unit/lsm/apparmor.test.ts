/**
 * AppArmor profiles from OCI specs (src/lsm/apparmor): the rules follow the spec (capabilities,
 * NET_RAW, writable and read-only mounts, a read-write root), names are checked, paths escaped,
 * and every profile made here is compiled by apparmor_parser -Q -K where it is installed.
 */
import { describe, expect, it } from 'vitest';
import {
  checkProfileName,
  defaultProfileFor,
  findParser,
  generateProfile,
  namesFromPolicyDir,
  parseLoadedProfiles,
  parserDiagnostics,
  pathGlob,
  profileNameFor,
  validateProfile,
  type ProfileSpec,
} from '../../../src/lsm/apparmor/index.js';
import { generateSpec, type SpecInput } from '../../../src/runtime/spec/index.js';
import { defaultRunOptions, type RunOptions, type VolumeSpec } from '../../../src/runtime/options.js';
import { apparmorFor } from '../../../src/runtime/plan.js';
import { SUBORDINATE_MAPS } from '../fixtures/id-maps.js';
import { MoatError } from '../../../src/errors.js';
import { startDetached } from '../../../src/runtime/start.js';
import type { Engine } from '../../../src/runtime/engine.js';
import type { HostFacts } from '../../../src/runtime/host.js';
import { fakeLifecycle } from '../runtime/lifecycle-fake.js';

const maps = SUBORDINATE_MAPS;

/** The spec moat generates for these options (the real generator, pure). */
function specFor(over: Partial<RunOptions> = {}, extra: Partial<SpecInput> = {}): ProfileSpec {
  return generateSpec({
    id: 'a'.repeat(64),
    opts: { ...defaultRunOptions('moat/busybox'), ...over },
    image: { Cmd: ['/bin/sh'] },
    idmaps: maps as Exclude<typeof maps, { error: string }>,
    host: { arch: 'x64', rlimits: {} },
    paths: { rootfs: '/r/rootfs', hosts: '/r/hosts', hostname: '/r/hostname' },
    seccomp: null,
    ...extra,
  }).spec;
}

const vol = (host: string, container: string, readonly: boolean, volume?: string): VolumeSpec => ({
  host,
  container,
  readonly,
  ...(volume !== undefined ? { volume } : {}),
});

/** The rule lines of a profile (comments and blank lines left out), trimmed. */
const rules = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as MoatError).code;
  }
  return undefined;
}

const parser = findParser();
/** A test that compiles with apparmor_parser: skipped only where it is absent, and then it says so. */
const withParser = (name: string, fn: () => Promise<void>) =>
  parser
    ? it(name, fn)
    : it.skip(`${name} [SKIPPED: apparmor_parser is not installed; apt-get install apparmor]`, fn);
if (!parser) console.warn('apparmor_parser is not installed: the profiles here are not compiled');

describe('generateProfile: a default container', () => {
  const text = generateProfile({ name: 'moat-web', source: 'container web', spec: specFor() });
  const r = rules(text);

  it("is docker-default's shape: a named profile that attaches disconnected paths", () => {
    expect(text).toContain('#include <tunables/global>');
    expect(r).toContain('profile moat-web flags=(attach_disconnected,mediate_deleted) {');
    expect(r.at(-1)).toBe('}');
  });

  it('denies mount, umount, remount and pivot_root', () => {
    for (const x of ['deny mount,', 'deny umount,', 'deny remount,', 'deny pivot_root,'])
      expect(r).toContain(x);
  });

  it('ptrace and signals only within the profile (signals from the host too)', () => {
    expect(r).toContain('ptrace (trace,read,tracedby,readby) peer=moat-web,');
    expect(r).toContain('signal (send,receive) peer=moat-web,');
    expect(r).toContain('signal (receive) peer=unconfined,');
    expect(r.filter((l) => l.startsWith('ptrace'))).toHaveLength(1);
  });

  it('no raw or packet sockets and no capability: the spec grants none', () => {
    expect(r).toContain('deny network raw,');
    expect(r).toContain('deny network packet,');
    expect(r.filter((l) => l.startsWith('capability'))).toEqual([]);
  });

  it('/proc writes only in a process own directory; /sys never; the kernel files not at all', () => {
    expect(r).toContain('@{PROC}/[0-9]*/** w,');
    expect(r).toContain('deny @{PROC}/* w,');
    expect(r).toContain('deny @{PROC}/[^0-9]*/** w,');
    expect(r).toContain('deny @{PROC}/{sysrq-trigger,kcore,kmem,mem} rwklx,');
    expect(r).toContain('deny /sys/** wklx,');
    expect(r).toContain('deny /sys/kernel/security/** rwklx,');
  });

  it('read-only root: writes only under the writable mounts; the read-only binds denied', () => {
    expect(r).not.toContain('/** wl,');
    for (const d of ['/tmp', '/run', '/dev', '/dev/shm', '/dev/pts', '/dev/mqueue'])
      expect(r, d).toContain(`"${d}{,/**}" wl,`);
    // moat's own files (hosts, hostname) are read-only binds in a read-only container
    expect(r).toContain('deny "/etc/hosts{,/**}" wl,');
    expect(r).toContain('deny "/etc/hostname{,/**}" wl,');
    // the kernel's trees are the /proc and /sys rules', not mounts'
    expect(r.some((l) => /"\/(proc|sys)/.test(l))).toBe(false);
  });

  withParser('compiles with apparmor_parser -Q -K', async () => {
    expect(await validateProfile(text)).toEqual({ validated: true, parser });
  });
});

describe('generateProfile: volumes, capabilities, a read-write root', () => {
  const spec = specFor({
    volumes: [
      vol('/home/u/data', '/data', false),
      vol('/home/u/conf', '/etc/app', true),
      vol('/v/cache', '/cache/', false, 'cache'),
    ],
    capAdd: ['CAP_NET_RAW', 'CAP_CHOWN'],
  });
  const text = generateProfile({ name: 'moat-app', source: 'a run', spec });
  const r = rules(text);

  it('grants writes under rw volumes, denies them under read-only ones (r only)', () => {
    expect(r).toContain('"/data{,/**}" wl,');
    expect(r).toContain('"/cache{,/**}" wl,');
    expect(r).toContain('deny "/etc/app{,/**}" wl,');
    expect(r).not.toContain('"/etc/app{,/**}" wl,');
    // host paths are not the container's paths: none appears
    expect(text).not.toContain('/home/u');
  });

  it('NET_RAW granted: raw and packet sockets allowed; exactly the capabilities granted', () => {
    expect(r).not.toContain('deny network raw,');
    expect(r).not.toContain('deny network packet,');
    expect(r.filter((l) => l.startsWith('capability'))).toEqual(['capability chown,', 'capability net_raw,']);
  });

  it('a read-write root: writes anywhere, the read-only mounts still denied', () => {
    const rw = rules(
      generateProfile({
        name: 'moat-rw',
        source: 'x',
        spec: specFor({ readWrite: true, volumes: [vol('/h', '/ro', true)] }),
      }),
    );
    expect(rw).toContain('/** wl,');
    expect(rw).toContain('deny "/ro{,/**}" wl,');
    expect(rw).not.toContain('deny "/etc/hosts{,/**}" wl,');
  });

  it('a writable mount inside a read-only one: no deny that would refuse it too', () => {
    const r2 = rules(
      generateProfile({
        name: 'moat-n',
        source: 'x',
        spec: specFor({ volumes: [vol('/h1', '/srv', true), vol('/h2', '/srv/cache', false)] }),
      }),
    );
    expect(r2).toContain('"/srv/cache{,/**}" wl,');
    expect(r2).not.toContain('deny "/srv{,/**}" wl,');
  });

  withParser('compiles with apparmor_parser -Q -K', async () => {
    expect((await validateProfile(text)).validated).toBe(true);
  });

  withParser('every capability moat knows is a name the parser knows', async () => {
    const { ALL_CAPS } = await import('../../../src/runtime/options.js');
    const all = specFor({ capAdd: ALL_CAPS.map((c) => `CAP_${c}`) });
    expect(
      (await validateProfile(generateProfile({ name: 'moat-caps', source: 'x', spec: all }))).validated,
    ).toBe(true);
  });
});

describe('names and paths', () => {
  it('checks names: safe characters only, never unconfined', () => {
    for (const ok of ['moat-default', 'moat-web.1', 'a', 'A_b+c']) expect(checkProfileName(ok)).toBe(ok);
    for (const bad of ['', '-x', 'a b', 'a/b', 'a,b', 'a\nb', 'x'.repeat(201), ':ns:p', 'a{b}'])
      expect(
        code(() => checkProfileName(bad)),
        JSON.stringify(bad),
      ).toBe('APPARMOR_INVALID_NAME');
    expect(code(() => generateProfile({ name: 'unconfined', source: 'x' }))).toBe('APPARMOR_INVALID_NAME');
    expect(code(() => generateProfile({ name: 'a b', source: 'x' }))).toBe('APPARMOR_INVALID_NAME');
  });

  it('makes names from containers and images', () => {
    expect(profileNameFor('web')).toBe('moat-web');
    expect(profileNameFor('busybox')).toBe('moat-busybox');
    expect(profileNameFor('--')).toBe('moat-container');
    expect(checkProfileName(profileNameFor('x'.repeat(300)))).toHaveLength(195);
  });

  it('escapes what AppArmor would read as a glob, a quote or a variable; refuses control characters', () => {
    expect(pathGlob('/data')).toBe('"/data{,/**}"');
    expect(pathGlob('/a b/*?[x]{y},^@"\\')).toBe('"/a b/\\*\\?\\[x\\]\\{y\\}\\,\\^\\@\\"\\\\{,/**}"');
    expect(code(() => pathGlob('/a\nb'))).toBe('APPARMOR_UNSAFE_PATH');
  });

  it('the source in the header stays one comment line', () => {
    const text = generateProfile({ name: 'moat-x', source: 'evil\n}\nprofile y {', spec: specFor() });
    expect(text.split('\n')[0]).toBe('# AppArmor profile moat-x, generated by moat from evil?}?profile y {.');
  });

  withParser('odd mount paths still compile, as literal paths', async () => {
    const spec = specFor({ volumes: [vol('/h', '/odd dir/*[x]{a,b}@{HOME}"q\\', false)] });
    expect((await validateProfile(generateProfile({ name: 'moat-odd', source: 'x', spec }))).validated).toBe(
      true,
    );
  });
});

describe('the generic profile (moat-default)', () => {
  const r = rules(generateProfile({ name: 'moat-default', source: 'none' }));
  it('leaves capabilities and raw sockets to the spec, writes anywhere but /proc and /sys', () => {
    expect(r).toContain('capability,');
    expect(r).not.toContain('deny network raw,');
    expect(r).toContain('/** wl,');
    expect(r).toContain('deny /sys/** wklx,');
    expect(r).toContain('deny mount,');
  });
  withParser('compiles', async () => {
    expect((await validateProfile(generateProfile({ name: 'moat-default', source: 'none' }))).validated).toBe(
      true,
    );
  });
});

describe('validateProfile', () => {
  withParser('a profile the parser refuses is APPARMOR_PROFILE_INVALID, with its output', async () => {
    const err = await validateProfile('profile moat-bad {\n  /x rwzz,\n}\n').catch((e: unknown) => e);
    expect((err as MoatError).code).toBe('APPARMOR_PROFILE_INVALID');
    expect((err as MoatError).message).toMatch(/syntax error/);
    expect((err as MoatError).message).not.toMatch(/Cache read\/write disabled/);
  });

  it('no parser: not validated, no error', async () => {
    expect(await validateProfile('profile x {}', null)).toEqual({ validated: false });
  });

  it("drops the parser's note about the cache", () => {
    expect(
      parserDiagnostics(
        'Cache read/write disabled: interface file missing. (...)\nAppArmor parser error: x\n',
      ),
    ).toBe('AppArmor parser error: x');
  });
});

describe('which profile a run gets', () => {
  const on = { apparmor: true, apparmorProfiles: ['moat-default', 'moat-web', 'docker-default'] };
  const off = { apparmor: false };

  it('reads the kernel list of loaded profiles', () => {
    expect(
      parseLoadedProfiles('moat-default (enforce)\n/usr/bin/man (complain)\nmoat-web (enforce)\n\n'),
    ).toEqual([
      { name: 'moat-default', mode: 'enforce' },
      { name: '/usr/bin/man', mode: 'complain' },
      { name: 'moat-web', mode: 'enforce' },
    ]);
  });

  it("reads the policy tree's directory (what a rootless user may list)", () => {
    expect(namesFromPolicyDir(['moat-default.3', 'usr.bin.man.12', 'moat-web.40', 'moat-web.41'])).toEqual([
      'moat-default',
      'usr.bin.man',
      'moat-web',
    ]);
  });

  it('moat-default where AppArmor is enabled and it is loaded, else none', () => {
    expect(defaultProfileFor(on)).toBe('moat-default');
    expect(defaultProfileFor({ apparmor: true, apparmorProfiles: ['docker-default'] })).toBeUndefined();
    expect(defaultProfileFor({ apparmor: true })).toBeUndefined();
    expect(defaultProfileFor(off)).toBeUndefined();
    expect(apparmorFor({}, on)).toBe('moat-default');
    expect(apparmorFor({}, off)).toBeUndefined();
  });

  it('a named profile: loaded here, or refused before anything starts', () => {
    expect(apparmorFor({ apparmorProfile: 'moat-web' }, on)).toBe('moat-web');
    // the list not readable: runc is trusted to say
    expect(apparmorFor({ apparmorProfile: 'moat-x' }, { apparmor: true })).toBe('moat-x');
    expect(code(() => apparmorFor({ apparmorProfile: 'moat-x' }, on))).toBe('RUNTIME_INVALID_OPTION');
    expect(code(() => apparmorFor({ apparmorProfile: 'moat-web' }, off))).toBe('RUNTIME_INVALID_OPTION');
  });

  it('unconfined: none, also where moat-default would apply (the policy sees it asked)', () => {
    expect(apparmorFor({ apparmorProfile: 'unconfined' }, on)).toBeUndefined();
    expect(apparmorFor({ apparmorProfile: 'unconfined' }, off)).toBeUndefined();
  });

  it('the spec carries it as process.apparmorProfile', () => {
    const s = generateSpec({
      id: 'a'.repeat(64),
      opts: defaultRunOptions('x'),
      image: { Cmd: ['/bin/sh'] },
      idmaps: maps as Exclude<typeof maps, { error: string }>,
      host: { arch: 'x64', rlimits: {} },
      paths: { rootfs: '/r' },
      seccomp: null,
      apparmorProfile: 'moat-web',
    }).spec;
    expect(s.process.apparmorProfile).toBe('moat-web');
    expect(specFor()).not.toHaveProperty('process.apparmorProfile');
  });
});

describe('a start', () => {
  it('refuses a container whose named profile this host cannot apply, before runc sees it', async () => {
    const { e, put } = fakeLifecycle();
    (e.deps as { host: Partial<HostFacts> }).host = { ...e.deps.host, apparmor: false };
    const rec = await put({
      status: 'created',
      options: { ...defaultRunOptions('moat/busybox'), apparmorProfile: 'moat-web' },
    });
    const err = await startDetached(e as unknown as Engine, rec.id).catch((x: unknown) => x);
    expect((err as MoatError).code).toBe('RUNTIME_INVALID_OPTION');
    expect((err as MoatError).message).toContain('AppArmor is not enabled on this host');
  });
});
