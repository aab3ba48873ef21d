import { describe, it, expect } from 'vitest';
import { defaultProfile, parseSeccompProfile, resolveSeccomp } from '../../../src/seccomp/index.js';
import { ALL_CAPS, DEFAULT_CAPS, allows, reachable, simulate } from './simulate.js';

/** Syscalls no container may use unless it holds the capability that is listed for it. */
const GATED: Record<string, string[]> = {
  mount: ['CAP_SYS_ADMIN'],
  umount: ['CAP_SYS_ADMIN'],
  umount2: ['CAP_SYS_ADMIN'],
  unshare: ['CAP_SYS_ADMIN'],
  setns: ['CAP_SYS_ADMIN'],
  fsopen: ['CAP_SYS_ADMIN'],
  fsconfig: ['CAP_SYS_ADMIN'],
  fsmount: ['CAP_SYS_ADMIN'],
  fspick: ['CAP_SYS_ADMIN'],
  move_mount: ['CAP_SYS_ADMIN'],
  open_tree: ['CAP_SYS_ADMIN'],
  mount_setattr: ['CAP_SYS_ADMIN'],
  quotactl: ['CAP_SYS_ADMIN'],
  bpf: ['CAP_BPF', 'CAP_SYS_ADMIN'],
  perf_event_open: ['CAP_PERFMON', 'CAP_SYS_ADMIN'],
  chroot: ['CAP_SYS_CHROOT'],
  init_module: ['CAP_SYS_MODULE'],
  finit_module: ['CAP_SYS_MODULE'],
  delete_module: ['CAP_SYS_MODULE'],
  ptrace: ['CAP_SYS_PTRACE'],
  userfaultfd: ['CAP_SYS_PTRACE'],
  pidfd_getfd: ['CAP_SYS_PTRACE'],
  process_vm_readv: ['CAP_SYS_PTRACE'],
  process_vm_writev: ['CAP_SYS_PTRACE'],
  open_by_handle_at: ['CAP_DAC_READ_SEARCH'],
  name_to_handle_at: ['CAP_DAC_READ_SEARCH'],
  reboot: ['CAP_SYS_BOOT'],
  acct: ['CAP_SYS_PACCT'],
  settimeofday: ['CAP_SYS_TIME'],
  clock_settime: ['CAP_SYS_TIME'],
  syslog: ['CAP_SYSLOG'],
  iopl: ['CAP_SYS_RAWIO'],
  ioperm: ['CAP_SYS_RAWIO'],
};

/** Syscalls no capability unlocks. */
// prettier-ignore
const NEVER = [
  'keyctl', 'add_key', 'request_key', 'pivot_root', 'kexec_load', 'kexec_file_load', 'swapon', 'swapoff',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'lookup_dcookie', 'nfsservctl', 'vm86', 'vm86old',
  'create_module', 'get_kernel_syms', 'query_module', 'uselib', 'modify_ldt', 'socketcall',
];

const BLOCKED = [...Object.keys(GATED), ...NEVER];

describe('default profile', () => {
  it('refuses with EPERM by default', () => {
    const p = defaultProfile();
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
  });

  for (const arch of ['x64', 'arm64'] as const) {
    it(`never lets a blocked syscall through without capabilities (${arch})`, () => {
      const spec = resolveSeccomp(defaultProfile(), { capabilities: [], arch });
      const open = BLOCKED.filter((n) => reachable(spec).has(n));
      expect(open).toEqual([]);
      expect(reachable(spec).has('clone3')).toBe(false);
    });
  }

  it('with the usual default capabilities, only chroot of the blocked list opens', () => {
    const spec = resolveSeccomp(defaultProfile(), { capabilities: DEFAULT_CAPS, arch: 'x64' });
    expect(BLOCKED.filter((n) => reachable(spec).has(n))).toEqual(['chroot']);
  });

  it('opens each gated syscall with its capability, and only with it', () => {
    for (const [name, caps] of Object.entries(GATED)) {
      for (const cap of caps) {
        const spec = resolveSeccomp(defaultProfile(), { capabilities: [cap], arch: 'x64' });
        expect(allows(spec, name), `${name} with ${cap}`).toBe(true);
      }
      const others = ALL_CAPS.filter((c) => !caps.includes(c));
      const spec = resolveSeccomp(defaultProfile(), { capabilities: others, arch: 'x64' });
      expect(reachable(spec).has(name), `${name} without ${caps.join('/')}`).toBe(false);
    }
  });

  for (const arch of ['x64', 'arm64'] as const) {
    it(`keeps the never-list closed with every capability granted (${arch})`, () => {
      const spec = resolveSeccomp(defaultProfile(), { capabilities: ALL_CAPS, arch });
      expect(NEVER.filter((n) => reachable(spec).has(n))).toEqual([]);
    });
  }

  it('allows the modern calls programs rely on', () => {
    const spec = resolveSeccomp(defaultProfile(), { capabilities: [], arch: 'x64' });
    // prettier-ignore
    const modern = [
      'faccessat2', 'openat2', 'statx', 'rseq', 'close_range', 'epoll_pwait2', 'pidfd_open',
      'pidfd_send_signal', 'getrandom', 'memfd_create', 'copy_file_range', 'membarrier', 'futex_waitv',
      'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self', 'fchmodat2', 'cachestat',
      'arch_prctl', 'execve', 'exit_group', 'newfstatat',
    ];
    expect(modern.filter((n) => !allows(spec, n))).toEqual([]);
  });

  it('allows personality only for the safe values', () => {
    const spec = resolveSeccomp(defaultProfile(), { capabilities: ALL_CAPS, arch: 'x64' });
    for (const v of [0, 0x8, 0x20000, 0x20008, 0xffffffff])
      expect(allows(spec, 'personality', [v])).toBe(true);
    // READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE
    for (const v of [0x0400000, 0x0040000]) expect(allows(spec, 'personality', [v])).toBe(false);
    for (const r of spec.syscalls ?? []) {
      if (r.names.includes('personality')) expect(r.args?.length).toBe(1);
    }
  });

  // libseccomp rewrites socket()/socketpair() rules for 32-bit x86 into socketcall() rules that
  // compare only the call number (the family is in memory), and likewise for the ipc(2) calls:
  // with x86 in the filter, `int $0x80` opened sockets of any family. No compat ABI is filtered,
  // so such calls meet the bad-architecture action (SIGSYS) instead.
  for (const arch of ['x64', 'arm64'] as const) {
    it(`filters the 64-bit ABI only: no 32-bit sub-architecture, no multiplexer (${arch})`, () => {
      const spec = resolveSeccomp(defaultProfile(), { capabilities: ALL_CAPS, arch });
      expect(spec.architectures).toEqual([arch === 'x64' ? 'SCMP_ARCH_X86_64' : 'SCMP_ARCH_AARCH64']);
      for (const e of defaultProfile().archMap ?? []) expect(e.subArchitectures ?? []).toEqual([]);
      expect(reachable(spec).has('socketcall')).toBe(false);
    });
  }

  it('filters socket and socketpair by family, io_uring never', () => {
    const spec = resolveSeccomp(defaultProfile(), { capabilities: ALL_CAPS, arch: 'x64' });
    const AF_VSOCK = 40;
    const AF_ALG = 38;
    for (const family of [AF_VSOCK, AF_ALG]) {
      expect(allows(spec, 'socket', [family, 1, 0])).toBe(false);
      expect(allows(spec, 'socketpair', [family, 1, 0])).toBe(false);
    }
    expect(allows(spec, 'socket', [1, 1, 0])).toBe(true);
    expect(allows(spec, 'socketpair', [1, 1, 0])).toBe(true);
    expect(allows(spec, 'socketpair', [2, 1, 0])).toBe(false);
    for (const n of ['io_uring_setup', 'io_uring_enter', 'io_uring_register'])
      expect(reachable(spec).has(n)).toBe(false);
  });

  it('limits arch-specific calls to their arch', () => {
    const amd = resolveSeccomp(defaultProfile(), { capabilities: ['CAP_SYS_RAWIO'], arch: 'x64' });
    const arm = resolveSeccomp(defaultProfile(), { capabilities: ['CAP_SYS_RAWIO'], arch: 'arm64' });
    expect(allows(amd, 'arch_prctl')).toBe(true);
    expect(allows(arm, 'arch_prctl')).toBe(false);
    expect(allows(amd, 'iopl')).toBe(true);
    expect(allows(arm, 'iopl')).toBe(false);
    expect(allows(arm, 'set_tls')).toBe(true);
    expect(allows(amd, 'set_tls')).toBe(false);
  });

  it('has no rules that disagree for the same call', () => {
    // simulate() throws when two matching rules have different actions.
    const spec = resolveSeccomp(defaultProfile(), { capabilities: ALL_CAPS, arch: 'x64' });
    for (const name of reachable(spec)) expect(() => simulate(spec, name, [0, 0, 0])).not.toThrow();
  });

  it('is valid under the schema custom profiles must pass', () => {
    const text = JSON.stringify(defaultProfile());
    expect(parseSeccompProfile(text, 'default.json')).toEqual(defaultProfile());
  });

  it('returns a fresh object every time', () => {
    const a = defaultProfile();
    a.syscalls?.push({ names: ['keyctl'], action: 'SCMP_ACT_ALLOW' });
    expect(reachable(resolveSeccomp(defaultProfile(), { capabilities: [], arch: 'x64' })).has('keyctl')).toBe(
      false,
    );
  });
});
