/**
 * The default seccomp profile from inside a container: static probes (built here with gcc) make
 * the syscalls a container must not make and report each errno.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { env, IMAGE, moat, uniq } from './moat.js';

const EPERM = 1;
const ENOSYS = 38;
let dir = '';

beforeAll(() => {
  const e = inject('moatEnv');
  dir = path.join(e.base, 'probe');
  mkdirSync(dir, { recursive: true });
  execFileSync('gcc', [
    '-static',
    '-O1',
    '-o',
    path.join(dir, 'probe'),
    path.join(e.root, 'test/e2e/fixtures/probe.c'),
  ]);
  execFileSync('gcc', [
    '-static',
    '-O1',
    '-o',
    path.join(dir, 'int80'),
    path.join(e.root, 'test/e2e/fixtures/int80.c'),
  ]);
});

/** The probe's lines as `name → errno` (a number) or `name → "killed:SIGNAL"`. */
function parse(stdout: string): Record<string, number | string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [name, v] = l.split(' ');
        return [name, /^\d+$/.test(v) ? Number(v) : v];
      }),
  );
}

async function probe(flags: string[] = [], name = 'probe'): Promise<Record<string, number | string>> {
  const r = await moat(['run', '--rm', '-v', `${dir}:/probe:ro`, ...flags, IMAGE, `/probe/${name}`]);
  expect(r.code, r.stderr).toBe(0);
  return parse(r.stdout);
}

describe('default seccomp profile', () => {
  it('blocks the dangerous syscalls with EPERM (clone3 with ENOSYS) and allows ordinary ones', async () => {
    const res = await probe();
    const blocked = [
      'keyctl',
      'add_key',
      'request_key',
      'unshare_user',
      'unshare_net',
      'mount',
      'umount2',
      'pivot_root',
      'setns',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'io_uring_setup',
      'open_by_handle_at',
      'kexec_load',
      'init_module',
      'finit_module',
      'delete_module',
      'reboot',
      'swapon',
      'clone_newns',
      'socket_alg',
      'socket_vsock',
      'socket_raw',
      'socket_packet',
    ];
    for (const name of blocked) expect([name, res[name]]).toEqual([name, EPERM]);
    expect(res.clone3).toBe(ENOSYS);
    expect(res.socket_tcp).toBe(0);
    expect(res.socket_unix).toBe(0);
    expect(res.getpid).toBe(0);
  });

  it('raw and packet sockets need --cap-add NET_RAW', async () => {
    const res = await probe(['--cap-add', 'NET_RAW']);
    expect(res.socket_raw).toBe(0);
    expect(res.socket_packet).toBe(0);
    expect(res.socket_alg).toBe(EPERM);
    expect(res.keyctl).toBe(EPERM);
  });
});

const SIGSYS = 31;

describe('the 32-bit x86 and x32 ABIs (not in the default filter)', () => {
  // libseccomp turns the socket() family rules into socketcall(SYS_SOCKET, ...) rules on x86 that
  // cannot see the family (it is in memory), so with the x86 ABI in the filter `int $0x80`
  // created AF_VSOCK sockets. The default filter now covers x86_64 alone: a call through any other
  // ABI meets libseccomp's bad-architecture action, which kills the caller with SIGSYS.
  it('an x32 system call is killed (SIGSYS) instead of being judged by x32 rules', async () => {
    const res = await probe([], 'int80');
    expect(res.x32_socket_vsock).toBe(`killed:${SIGSYS}`);
  });

  it('int $0x80: socketcall(SYS_SOCKET, AF_VSOCK), socket(AF_VSOCK) and getpid are all killed', async (ctx) => {
    // Some hosts (this CI's PVM guests, kernels booted with ia32_emulation=0) have no int $0x80
    // at all: it faults before any syscall code or seccomp runs, so there is nothing to test.
    const host = parse(execFileSync(path.join(dir, 'int80'), { encoding: 'utf8' }));
    if (host.i386_getpid !== 0) ctx.skip(`int $0x80 does not reach the kernel here (${host.i386_getpid})`);
    const res = await probe([], 'int80');
    for (const name of [
      'i386_getpid',
      'i386_socketcall_vsock',
      'i386_socketcall_socketpair',
      'i386_socket_vsock',
    ])
      expect([name, res[name]]).toEqual([name, `killed:${SIGSYS}`]);
  });

  it('a custom profile may add them back (docs/seccomp.md); the policy sees it as looser', async () => {
    // The recipe the docs give: the profile a container got, plus the compat sub-architectures.
    const name = uniq('arch');
    expect((await moat(['run', '--name', name, IMAGE, 'true'])).code).toBe(0);
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as {
      spec: { linux: { seccomp: { architectures: string[] } } };
    }[];
    await moat(['rm', name]);
    const compat = insp[0].spec.linux.seccomp;
    expect(compat.architectures).toEqual(['SCMP_ARCH_X86_64']);
    compat.architectures.push('SCMP_ARCH_X86', 'SCMP_ARCH_X32');
    const f = path.join(dir, 'compat32.json');
    writeFileSync(f, JSON.stringify(compat));
    const run = [
      'run',
      '--rm',
      '-v',
      `${dir}:/probe:ro`,
      '--security-opt',
      `seccomp=${f}`,
      IMAGE,
      '/probe/int80',
    ];
    const refused = await moat(run);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/lets through what the default profile blocks \(architectures\)/);
    const digest = `sha256:${createHash('sha256').update(readFileSync(f)).digest('hex')}`;
    const data = path.join(dir, 'except-compat.json');
    writeFileSync(data, JSON.stringify({ moat: { seccomp_exceptions: [digest] } }));
    const policy = `${path.join(inject('moatEnv').root, 'policies')}:${data}`;
    const r = await moat(run, { env: { ...env(), MOAT_POLICY: policy } });
    expect(r.code, r.stderr).toBe(0);
    // x32 calls are judged by the x32 rules again: the family filter refuses AF_VSOCK there.
    expect(parse(r.stdout).x32_socket_vsock).toBe(EPERM);
  });
});

describe('a profile learned from the probe (moat seccomp learn)', () => {
  it('still blocks what the default blocks by argument or capability, and says loudly what it lets through', async () => {
    const file = path.join(dir, 'learned-probe.json');
    const l = await moat(['seccomp', 'learn', '-o', file, '-v', `${dir}:/probe:ro`, IMAGE, '/probe/probe']);
    expect(l.code, l.stderr).toBe(0);
    // keyctl and its kin are in no rule of the default profile: a learned profile names them, loudly.
    expect(l.stderr).toMatch(/WARNING: .* beyond moat's default profile .*\bkeyctl\b/);
    // The default policy refuses a profile looser than the default unless its digest is excepted.
    const digest = `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
    const data = path.join(dir, 'except-learned.json');
    writeFileSync(data, JSON.stringify({ moat: { seccomp_exceptions: [digest] } }));
    const policy = `${path.join(inject('moatEnv').root, 'policies')}:${data}`;
    const r = await moat(
      ['run', '--rm', '-v', `${dir}:/probe:ro`, '--security-opt', `seccomp=${file}`, IMAGE, '/probe/probe'],
      {
        env: { ...env(), MOAT_POLICY: policy },
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const res = parse(r.stdout);
    // Calls the probe made, kept under the default's capability conditions and argument filters.
    for (const name of [
      'unshare_user',
      'unshare_net',
      'mount',
      'umount2',
      'setns',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'init_module',
      'finit_module',
      'delete_module',
      'clone_newns',
      'socket_alg',
      'socket_vsock',
      'socket_raw',
      'socket_packet',
    ])
      expect([name, res[name]]).toEqual([name, EPERM]);
    expect(res.clone3).toBe(ENOSYS);
    expect(res.socket_tcp).toBe(0);
    expect(res.getpid).toBe(0);
  });
});

describe('--security-opt seccomp=FILE', () => {
  it('applies a custom profile', async () => {
    const f = path.join(dir, 'no-mkdir.json');
    writeFileSync(
      f,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    // Allowing by default is looser than moat's profile: the default policy wants its digest excepted.
    const digest = `sha256:${createHash('sha256').update(readFileSync(f)).digest('hex')}`;
    const data = path.join(dir, 'except.json');
    writeFileSync(data, JSON.stringify({ moat: { seccomp_exceptions: [digest] } }));
    const policy = `${path.join(inject('moatEnv').root, 'policies')}:${data}`;
    const r = await moat(
      [
        'run',
        '--rm',
        '--security-opt',
        `seccomp=${f}`,
        IMAGE,
        'sh',
        '-c',
        'mkdir /tmp/d; echo rc=$?; grep Seccomp: /proc/self/status',
      ],
      { env: { ...env(), MOAT_POLICY: policy } },
    );
    expect(r.stdout).toMatch(/rc=1/);
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(r.stdout).toMatch(/Seccomp:\s+2/);
  });

  it('refuses malformed JSON, schema errors and unknown syscalls in a narrowing rule', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"defaultAction": "SCMP_ACT_ALLOW",');
    let r = await moat(['run', '--rm', '--security-opt', `seccomp=${bad}`, IMAGE, 'true']);
    expect(r.code).toBe(2); // a bad option value: the user's to fix
    expect(r.stderr).toMatch(/SECCOMP_INVALID_JSON/);
    writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_MAYBE' }));
    r = await moat(['run', '--rm', '--security-opt', `seccomp=${bad}`, IMAGE, 'true']);
    expect(r.stderr).toMatch(/SECCOMP_INVALID_PROFILE/);
    writeFileSync(
      bad,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['no_such_syscall_xyz'], action: 'SCMP_ACT_ERRNO' }],
      }),
    );
    r = await moat(['run', '--rm', '--security-opt', `seccomp=${bad}`, IMAGE, 'true']);
    expect(r.stderr).toMatch(/SECCOMP_UNKNOWN_SYSCALL/);
    expect(r.stderr).toMatch(/no_such_syscall_xyz/);
  });
});
