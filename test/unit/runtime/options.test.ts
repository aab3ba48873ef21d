/** Option parsers: tmpfs values, --security-opt, --cpus against the host's CPUs. */
import { describe, expect, it } from 'vitest';
import { cpusProblem, parseSecurityOpt, parseTmpfs } from '../../../src/runtime/options.js';
import type { MoatError } from '../../../src/errors.js';

function error(fn: () => unknown): MoatError {
  try {
    fn();
  } catch (e) {
    return e as MoatError;
  }
  throw new Error('did not throw');
}

describe('parseTmpfs', () => {
  it('accepts what it lists', () => {
    expect(parseTmpfs('/d:size=64m,mode=1777,noexec,uid=1000').options).toEqual([
      'size=64m',
      'mode=1777',
      'noexec',
      'uid=1000',
    ]);
  });

  it('says a size value is invalid, not that size= is unsupported', () => {
    const e = error(() => parseTmpfs('/d:size=abc'));
    expect(e.code).toBe('RUNTIME_INVALID_OPTION');
    expect(e.message).toBe('invalid tmpfs size "abc" in "/d:size=abc"');
    expect(e.hint).toMatch(/^size= takes a size in bytes/);
    expect(error(() => parseTmpfs('/d:mode=rwx')).message).toMatch(/invalid tmpfs mode "rwx"/);
  });

  it('still refuses an unknown option, listing the allowed ones', () => {
    const e = error(() => parseTmpfs('/d:bogus'));
    expect(e.message).toBe('unsupported tmpfs option "bogus" in "/d:bogus"');
    expect(e.hint).toMatch(/size=, mode=/);
  });
});

describe('parseSecurityOpt', () => {
  it('accepts no-new-privileges in its docker spellings (always on)', () => {
    for (const s of ['no-new-privileges', 'no-new-privileges:true', 'no-new-privileges=true'])
      expect(parseSecurityOpt(s)).toEqual({});
  });

  it('refuses seccomp=unconfined with its own code and a hint', () => {
    for (const s of ['seccomp=unconfined', 'seccomp:unconfined']) {
      const e = error(() => parseSecurityOpt(s));
      expect(e.code).toBe('SECCOMP_UNCONFINED_REFUSED');
      expect(e.message).toBe(`--security-opt ${s} is refused`);
      expect(e.hint).toMatch(/moat always applies a seccomp profile/);
    }
  });

  it('takes a profile file, refuses turning no_new_privs off and unknown options', () => {
    expect(parseSecurityOpt('seccomp=./p.json')).toEqual({ seccompProfile: './p.json' });
    expect(parseSecurityOpt('seccomp=./unconfined')).toEqual({ seccompProfile: './unconfined' });
    expect(error(() => parseSecurityOpt('no-new-privileges=false')).code).toBe('RUNTIME_INVALID_OPTION');
    expect(error(() => parseSecurityOpt('label=disable')).message).toMatch(/unsupported --security-opt/);
    expect(error(() => parseSecurityOpt('seccomp=')).code).toBe('RUNTIME_INVALID_OPTION');
  });
});

describe('--security-opt apparmor=NAME', () => {
  it('takes a profile name (apparmor= or apparmor:), unconfined too: the policy sees it', () => {
    expect(parseSecurityOpt('apparmor=moat-web')).toEqual({ apparmorProfile: 'moat-web' });
    expect(parseSecurityOpt('apparmor:moat-default')).toEqual({ apparmorProfile: 'moat-default' });
    expect(parseSecurityOpt('apparmor=unconfined')).toEqual({ apparmorProfile: 'unconfined' });
  });

  it('refuses what is not a plain name', () => {
    for (const s of [
      'apparmor=',
      'apparmor=../x',
      'apparmor=a b',
      'apparmor=-x',
      'apparmor=x\ny',
      'apparmor=:ns:p',
    ])
      expect(error(() => parseSecurityOpt(s)).code, s).toBe('RUNTIME_INVALID_OPTION');
    expect(error(() => parseSecurityOpt('apparmor=x\ny')).message).not.toContain('\n');
  });
});

describe('cpusProblem', () => {
  it("is docker's range: 0.01 to the host's CPUs", () => {
    expect(cpusProblem(5, 2)).toBe(
      '--cpus 5: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
    );
    expect(cpusProblem(0.001, 2)).toMatch(/from 0.01/);
    expect(cpusProblem(2, 2)).toBeUndefined();
    expect(cpusProblem(0.5, 2)).toBeUndefined();
    expect(cpusProblem(undefined, 2)).toBeUndefined();
    expect(cpusProblem(5, undefined)).toBeUndefined();
  });
});
