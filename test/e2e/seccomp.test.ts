/**
 * The default seccomp profile from inside a container: a static probe (built here with gcc) makes
 * the syscalls a container must not make and reports each errno.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { env, IMAGE, moat } from './moat.js';

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
});

async function probe(flags: string[] = []): Promise<Record<string, number>> {
  const r = await moat(['run', '--rm', '-v', `${dir}:/probe:ro`, ...flags, IMAGE, '/probe/probe']);
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]),
  );
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
