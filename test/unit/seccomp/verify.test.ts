import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import {
  checkSyscallsKnown,
  defaultProfile,
  narrows,
  resolveSeccomp,
  SeccompError,
  type LinuxSeccomp,
} from '../../../src/seccomp/index.js';
import { NEWER_THAN_LIBSECCOMP } from '../../../src/seccomp/syscalls.js';

// These run the real scmp_sys_resolver (Debian package "seccomp"), as production does.
const RESOLVER = '/usr/bin/scmp_sys_resolver';
const MISSING = path.join(mkdtempSync(path.join(tmpdir(), 'moat-noresolver-')), 'scmp_sys_resolver');

async function rejection(p: Promise<unknown>): Promise<SeccompError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SeccompError) return e;
    throw e;
  }
  throw new Error('did not reject');
}

const denyList = (names: string[]): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
});

const allowList = (names: string[]): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }],
});

describe('narrows', () => {
  it('ranks actions by how much they let through', () => {
    expect(narrows('SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW')).toBe(true);
    expect(narrows('SCMP_ACT_LOG', 'SCMP_ACT_ALLOW')).toBe(false);
    expect(narrows('SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_ERRNO')).toBe(true);
    expect(narrows('SCMP_ACT_ERRNO', 'SCMP_ACT_ERRNO')).toBe(false);
    expect(narrows('SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO')).toBe(false);
    expect(narrows('SCMP_ACT_NOTIFY', 'SCMP_ACT_LOG')).toBe(true);
    expect(narrows('SCMP_ACT_TRACE', 'SCMP_ACT_KILL')).toBe(false);
  });
});

describe('checkSyscallsKnown', () => {
  it('needs no resolver for the default profile (default-deny)', async () => {
    const spec = resolveSeccomp(defaultProfile(), { capabilities: [], arch: 'x64' });
    await expect(checkSyscallsKnown(spec, { resolver: MISSING, arch: 'x64' })).resolves.toEqual({
      checked: [],
      warnings: [],
    });
  });

  it('passes a block rule with known names', async () => {
    const result = await checkSyscallsKnown(denyList(['keyctl', 'add_key']), {
      resolver: RESOLVER,
      arch: 'x64',
    });
    expect(result.checked.sort()).toEqual(['add_key', 'keyctl']);
    expect(result.warnings).toEqual([]);
  });

  it('refuses a made-up name in a block rule of a default-allow profile', async () => {
    const err = await rejection(
      checkSyscallsKnown(denyList(['keyctl', 'keyctll', 'not_a_syscall']), {
        resolver: RESOLVER,
        arch: 'x64',
      }),
    );
    expect(err.code).toBe('SECCOMP_UNKNOWN_SYSCALL');
    expect(err.details).toMatchObject({ names: ['keyctll', 'not_a_syscall'] });
  });

  it('counts a kill rule in a default-errno profile as narrowing', async () => {
    const spec: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['made_up_kill'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    };
    expect((await rejection(checkSyscallsKnown(spec, { resolver: RESOLVER, arch: 'x64' }))).code).toBe(
      'SECCOMP_UNKNOWN_SYSCALL',
    );
  });

  it('accepts names that exist only on another ABI (libseccomp pseudo-numbers)', async () => {
    await expect(
      checkSyscallsKnown(denyList(['socketcall', 'set_tls']), { resolver: RESOLVER, arch: 'x64' }),
    ).resolves.toMatchObject({
      warnings: [],
    });
  });

  it('fails closed when the resolver is missing and something is blocked', async () => {
    const err = await rejection(checkSyscallsKnown(denyList(['keyctl']), { resolver: MISSING, arch: 'x64' }));
    expect(err.code).toBe('SECCOMP_CANNOT_VERIFY');
    expect(err.hint).toMatch(/seccomp/);
  });

  it('fails closed when the resolver cannot answer for the arch', async () => {
    const err = await rejection(
      checkSyscallsKnown(denyList(['keyctl']), { resolver: RESOLVER, arch: 'loong64' }),
    );
    expect(err.code).toBe('SECCOMP_CANNOT_VERIFY');
  });

  it('only warns about unknown names in allow rules, and only when asked', async () => {
    const spec = allowList(['read', 'made_up_call']);
    await expect(checkSyscallsKnown(spec, { resolver: MISSING, arch: 'x64' })).resolves.toEqual({
      checked: [],
      warnings: [],
    });
    const result = await checkSyscallsKnown(spec, {
      resolver: RESOLVER,
      arch: 'x64',
      warnUnknownAllowed: true,
    });
    expect(result.warnings).toEqual([
      expect.objectContaining({ code: 'SECCOMP_UNKNOWN_ALLOWED_SYSCALL', names: ['made_up_call'] }),
    ]);
  });
});

describe('default allowlist against libseccomp', () => {
  /**
   * Every name the default profile mentions (any capability, any arch) must be known to this
   * host's libseccomp for x86_64, except the calls newer than libseccomp 2.5.4 listed here on
   * purpose. A typo shows up as a difference.
   */
  const EXPECTED_UNKNOWN = ['getxattrat', 'listxattrat', 'mseal', 'removexattrat', 'setxattrat', 'uretprobe'];

  it('knows every name but the deliberately newer ones', async () => {
    const names = [...new Set((defaultProfile().syscalls ?? []).flatMap((r) => r.names))];
    const spec = allowList(names);
    const { warnings, checked } = await checkSyscallsKnown(spec, {
      resolver: RESOLVER,
      arch: 'x64',
      warnUnknownAllowed: true,
    });
    expect(checked).toHaveLength(names.length);
    const unknown = warnings.flatMap((w) => {
      if (w.code !== 'SECCOMP_UNKNOWN_ALLOWED_SYSCALL') throw new Error(w.message);
      return w.names;
    });
    if (unknown.length) console.info(`newer than libseccomp: ${unknown.sort().join(', ')}`);
    expect(unknown.sort()).toEqual(EXPECTED_UNKNOWN);
    expect([...NEWER_THAN_LIBSECCOMP].sort()).toEqual(EXPECTED_UNKNOWN);
  });
});
