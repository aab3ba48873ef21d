/**
 * Whole generated specs for a few representative option sets, snapshotted as the JSON text runc
 * reads (key order included), so a reshaping of the spec generator is proven to produce the same
 * bytes. A deliberate change of the spec updates the snapshot (`npx vitest run -u FILE`) in the
 * same commit, where the diff shows what moved.
 */
import { describe, expect, it } from 'vitest';
import { generateSpec, type SpecInput } from '../../../src/runtime/spec/index.js';
import { defaultRunOptions, type RunOptions } from '../../../src/runtime/options.js';
import { computeIdMaps } from '../../../src/userns/idmap.js';
import { MoatError } from '../../../src/errors.js';

const sub = computeIdMaps({
  uid: 1000,
  gid: 1000,
  subuids: [{ start: 100000, count: 65536 }],
  subgids: [{ start: 100000, count: 65536 }],
});
const single = computeIdMaps({ uid: 1000, gid: 1000, subuids: [], subgids: [] });
if ('error' in sub || 'error' in single) throw new Error('maps');

const seccomp = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    {
      names: ['read', 'write', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'],
      action: 'SCMP_ACT_ALLOW',
    },
  ],
};

function input(over: Partial<RunOptions> = {}, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'b'.repeat(64),
    opts: { ...defaultRunOptions('busybox'), ...over },
    image: { Cmd: ['/bin/sh'], Env: ['PATH=/bin', 'FOO=image'], WorkingDir: '/srv' },
    idmaps: sub as Exclude<typeof sub, { error: string }>,
    host: {
      arch: 'x64',
      rlimits: {
        RLIMIT_NOFILE: { soft: 1024, hard: 4096 },
        RLIMIT_NPROC: { soft: 4096, hard: 8192 },
        RLIMIT_CORE: { soft: 0, hard: 'unlimited' },
      },
      initPath: '/usr/bin/tini-static',
      // A host where moat-init was built and the kernel has Landlock: what runs by default.
      moatInit: '/m/dist/native/moat-init',
      landlockAbi: 7,
      cpus: 4,
    },
    paths: { rootfs: '/r/rootfs', hosts: '/r/hosts', hostname: '/r/hostname' },
    seccomp,
    passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    group: 'root:x:0:\ntty:x:5:\napp:x:1000:\nextra:x:2000:app\nvideo:x:44:\n',
    ...extra,
  };
}

/** The spec as the engine writes it to config.json, plus the warnings. */
function text(i: SpecInput): string {
  const { spec, warnings } = generateSpec(i);
  return `${JSON.stringify(spec, null, 2)}\nwarnings: ${JSON.stringify(warnings)}`;
}

describe('generateSpec: whole specs', () => {
  it('defaults', () => {
    expect(text(input())).toMatchSnapshot();
  });

  it('volumes, tmpfs, cap-add, user, groups, limits, sysctls, init', () => {
    const i = input(
      {
        name: 'web-1',
        user: 'app',
        groupAdd: ['video', '3000'],
        entrypoint: ['/entry'],
        cmd: ['serve', '--port', '80'],
        env: ['FOO=run', 'BAR=1'],
        workdir: '/data',
        volumes: [
          { host: '/h/data', container: '/data', readonly: false },
          { host: '/h/conf', container: '/etc/app/', readonly: true },
        ],
        tmpfs: [
          { path: '/cache', options: ['size=1m', 'mode=700'] },
          { path: '/tmp', options: [] },
        ],
        capAdd: ['NET_BIND_SERVICE', 'CHOWN', 'NET_BIND_SERVICE'],
        memory: 64 * 1024 * 1024,
        pidsLimit: 100,
        cpus: 1.5,
        shmSize: 8 * 1024 * 1024,
        sysctls: { 'net.ipv4.ping_group_range': '0 1000', 'kernel.shmmax': '1048576' },
        oomScoreAdj: 300,
        ulimits: [
          { name: 'nofile', soft: 512, hard: 2048 },
          { name: 'core', soft: 0, hard: 0 },
        ],
        init: true,
      },
      { defaultNproc: 1024 },
    );
    expect(text(i)).toMatchSnapshot();
  });

  it('read-write root with a custom seccomp profile, single-ID mapping', () => {
    const custom = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        {
          names: ['personality'],
          action: 'SCMP_ACT_ERRNO',
          args: [{ index: 0, value: 8, op: 'SCMP_CMP_NE' }],
        },
      ],
    };
    const i = input(
      { readWrite: true, hostname: 'box', seccompProfile: '/p/custom.json' },
      { seccomp: custom, idmaps: single as Exclude<typeof single, { error: string }>, passwd: undefined },
    );
    expect(text(i)).toMatchSnapshot();
  });

  it('unconfined seccomp: no filter and a warning', () => {
    expect(text(input({}, { seccomp: null }))).toMatchSnapshot();
  });

  it('every failed check, in order, in one error', () => {
    let err: MoatError | undefined;
    try {
      generateSpec(
        input(
          {
            entrypoint: [''],
            user: '70000:70001',
            workdir: 'rel',
            init: true,
            cpus: 16,
            volumes: [{ host: '/h', container: '/', readonly: false }],
            tmpfs: [{ path: '/proc/x', options: [] }],
            groupAdd: ['nosuch'],
            ulimits: [{ name: 'nofile', soft: 10, hard: 100000 }],
            env: ['=bad'],
          },
          {
            image: {},
            host: { arch: 'x64', rlimits: { RLIMIT_NOFILE: { soft: 1024, hard: 4096 } }, cpus: 4 },
          },
        ),
      );
    } catch (e) {
      err = e as MoatError;
    }
    expect(err?.code).toBe('RUNTIME_INVALID_OPTION');
    expect(JSON.stringify({ message: err?.message, details: err?.details }, null, 2)).toMatchSnapshot();
  });
});
