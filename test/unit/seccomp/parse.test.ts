import { describe, it, expect } from 'vitest';
import { parseSeccompProfile, SeccompError, type ProfileProblem } from '../../../src/seccomp/index.js';
import { firstJsonError } from '../../../src/seccomp/json-position.js';

function caught(fn: () => unknown): SeccompError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SeccompError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

const problemsOf = (profile: unknown): ProfileProblem[] => {
  const err = caught(() => parseSeccompProfile(JSON.stringify(profile), 'p.json'));
  expect(err.code).toBe('SECCOMP_INVALID_PROFILE');
  return (err.details as { problems: ProfileProblem[] }).problems;
};
const paths = (profile: unknown) => problemsOf(profile).map((p) => p.path);

const rule = (extra: Record<string, unknown>) => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', ...extra }],
});

describe('parseSeccompProfile: accepted', () => {
  it('reads a Docker-shaped profile', () => {
    const text = JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
      syscalls: [
        {
          names: ['read', 'write'],
          action: 'SCMP_ACT_ALLOW',
          args: [],
          comment: '',
          includes: {},
          excludes: {},
        },
        {
          names: ['clone'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
          excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
        },
        { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    });
    const p = parseSeccompProfile(text, 'docker.json');
    expect(p.syscalls).toHaveLength(4);
  });
});

describe('parseSeccompProfile: malformed JSON', () => {
  it.each([
    ['{\n  "defaultAction": "SCMP_ACT_ERRNO",\n}', 3, 1],
    ['{"defaultAction":}', 1, 18],
    ['{\n  "syscalls": [1,,2]\n}', 2, 18],
    ['{"defaultAction": "SCMP_ACT_ERRNO"', 1, 35],
    ['', 1, 1],
  ])('%j → line %i column %i', (text, line, column) => {
    const err = caught(() => parseSeccompProfile(text, 'bad.json'));
    expect(err.code).toBe('SECCOMP_INVALID_JSON');
    expect(err.details).toMatchObject({ source: 'bad.json', line, column });
    expect(err.message).toContain(`bad.json:${line}:${column}`);
  });

  it('locates nothing in valid JSON', () => {
    for (const t of ['{}', '[1, -2.5e+3, "a\\u00e9\\n", true, false, null]', ' {"a": {"b": []}} ']) {
      expect(firstJsonError(t)).toBeUndefined();
    }
  });
});

describe('parseSeccompProfile: schema', () => {
  it('refuses a missing defaultAction and a non-object', () => {
    expect(paths({})).toEqual(['$.defaultAction']);
    expect(paths([])).toEqual(['$']);
  });

  it('refuses unknown actions, operators, arches and flags', () => {
    expect(paths({ defaultAction: 'SCMP_ACT_PERMIT' })).toEqual(['$.defaultAction']);
    expect(paths(rule({ action: 'SCMP_ACT_MAYBE' }))).toEqual(['$.syscalls[0].action']);
    expect(paths(rule({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_ALMOST' }] }))).toEqual([
      '$.syscalls[0].args[0].op',
    ]);
    expect(paths({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] })).toEqual([
      '$.architectures[0]',
    ]);
    expect(paths({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] })).toEqual([
      '$.flags[0]',
    ]);
  });

  it('refuses unknown fields at every level', () => {
    expect(paths({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrno: 1 })).toEqual(['$.defaultErrno']);
    expect(paths(rule({ errnoret: 1 }))).toEqual(['$.syscalls[0].errnoret']);
    expect(paths(rule({ excludes: { capabilities: ['CAP_X'] } }))).toEqual([
      '$.syscalls[0].excludes.capabilities',
    ]);
    expect(paths(rule({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ', mask: 1 }] }))).toEqual([
      '$.syscalls[0].args[0].mask',
    ]);
  });

  it('refuses bad names, indexes and values', () => {
    expect(paths(rule({ names: [] }))).toEqual(['$.syscalls[0].names']);
    expect(paths(rule({ names: ['Read'] }))).toEqual(['$.syscalls[0].names[0]']);
    expect(paths(rule({ names: ['42'] }))).toEqual(['$.syscalls[0].names[0]']);
    expect(paths(rule({ args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }))).toEqual([
      '$.syscalls[0].args[0].index',
    ]);
    expect(paths(rule({ args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }))).toEqual([
      '$.syscalls[0].args[0].value',
    ]);
    // 2^64-1 cannot be represented exactly once JSON.parse has read it.
    const text =
      '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}';
    expect(caught(() => parseSeccompProfile(text, 'p.json')).code).toBe('SECCOMP_INVALID_PROFILE');
  });

  it('lists every problem, not only the first', () => {
    expect(
      paths({
        defaultAction: 'SCMP_ACT_NOPE',
        syscalls: [{ names: ['read'], action: 'X', extra: 1 }],
      }).sort(),
    ).toEqual(['$.defaultAction', '$.syscalls[0].action', '$.syscalls[0].extra']);
  });
});

describe('parseSeccompProfile: checks across fields', () => {
  it('refuses two comparisons of the same argument (runc would OR them)', () => {
    const args = [
      { index: 1, value: 1, op: 'SCMP_CMP_GE' },
      { index: 1, value: 5, op: 'SCMP_CMP_LE' },
    ];
    expect(paths(rule({ args }))).toEqual(['$.syscalls[0].args[1].index']);
  });

  it('refuses errnoRet where it has no meaning', () => {
    expect(paths(rule({ errnoRet: 1 }))).toEqual(['$.syscalls[0].errnoRet']);
    expect(paths({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 })).toEqual(['$.defaultErrnoRet']);
  });

  it('refuses architectures together with archMap', () => {
    expect(
      paths({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64' }],
      }),
    ).toEqual(['$.archMap']);
  });

  it('refuses SCMP_ACT_NOTIFY without a listener', () => {
    expect(paths(rule({ action: 'SCMP_ACT_NOTIFY' }))).toEqual(['$.listenerPath']);
  });
});

describe('parseSeccompProfile: unconfined', () => {
  it('is refused by default', () => {
    expect(caught(() => parseSeccompProfile('unconfined', 'cli')).code).toBe('SECCOMP_UNCONFINED_REFUSED');
    expect(caught(() => parseSeccompProfile('"unconfined"\n', 'file')).code).toBe(
      'SECCOMP_UNCONFINED_REFUSED',
    );
    expect(caught(() => parseSeccompProfile('unconfined', 'cli', { allowUnconfined: false })).code).toBe(
      'SECCOMP_UNCONFINED_REFUSED',
    );
  });

  it('means no filter (null) when explicitly allowed', () => {
    expect(parseSeccompProfile('unconfined', 'cli', { allowUnconfined: true })).toBeNull();
    expect(parseSeccompProfile(' unconfined\n', 'cli', { allowUnconfined: true })).toBeNull();
  });
});
