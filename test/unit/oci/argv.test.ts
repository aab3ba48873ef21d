import { describe, expect, it } from 'vitest';
import { flagArgs, parseArgv, validateId } from '../../../src/oci/argv.js';
import { OciError } from '../../../src/oci/errors.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof OciError ? e.code : `not an OciError: ${String(e)}`;
  }
  return undefined;
}

describe('runc command line', () => {
  it('reads conmon’s create: global flags, then create with two-dash flags', () => {
    const inv = parseArgv([
      '--root',
      '/run/user/1000/runc',
      '--log',
      '/b/oci-log',
      '--log-format=json',
      'create',
      '--bundle',
      '/b',
      '--pid-file',
      '/b/pidfile',
      '--console-socket',
      '/s.sock',
      'c1',
    ]);
    expect(inv.command).toBe('create');
    expect(Object.fromEntries(inv.global)).toEqual({
      root: '/run/user/1000/runc',
      log: '/b/oci-log',
      'log-format': 'json',
    });
    expect(Object.fromEntries(inv.flags)).toEqual({
      bundle: '/b',
      'pid-file': '/b/pidfile',
      'console-socket': '/s.sock',
    });
    expect(inv.args).toEqual(['c1']);
  });

  it('reads Go-style single-dash long flags and booleans with =false', () => {
    const inv = parseArgv([
      '-root=/r',
      '-debug=false',
      'create',
      '-bundle',
      '/b',
      '-pid-file=/p',
      '-no-pivot',
      'c1',
    ]);
    expect(Object.fromEntries(inv.global)).toEqual({ root: '/r', debug: false });
    expect(Object.fromEntries(inv.flags)).toEqual({ bundle: '/b', 'pid-file': '/p', 'no-pivot': true });
    expect(flagArgs(inv.flags)).toEqual(['--bundle=/b', '--pid-file=/p', '--no-pivot']);
    expect(flagArgs(inv.global)).toEqual(['--root=/r', '--debug=false']);
  });

  it('kill takes its flags before or after the ID (urfave reorders), and a signal', () => {
    expect(parseArgv(['kill', '--all', 'c1', '9']).args).toEqual(['c1', '9']);
    const after = parseArgv(['kill', 'c1', 'KILL', '-a']);
    expect(after.args).toEqual(['c1', 'KILL']);
    expect(after.flags.get('all')).toBe(true);
  });

  it('exec: everything after the ID is the command, dashes included', () => {
    const inv = parseArgv(['exec', '-t', '--env', 'A=1', '-e', 'B=2', 'c1', 'sh', '-c', 'echo -n hi']);
    expect(inv.args).toEqual(['c1', 'sh', '-c', 'echo -n hi']);
    expect(inv.flags.get('env')).toEqual(['A=1', 'B=2']);
    expect(flagArgs(inv.flags)).toEqual(['--tty', '--env=A=1', '--env=B=2']);
  });

  it('refuses what runc would not parse, and what moat does not judge', () => {
    expect(code(() => parseArgv(['create', '--bundel', '/b', 'c1']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['create', '--bundle']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['create', '--no-pivot=maybe', 'c1']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['state']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['state', 'a', 'b']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['frobnicate', 'c1']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['---root', 'x', 'state', 'c1']))).toBe('OCI_USAGE');
    expect(code(() => parseArgv(['restore', '--bundle', '/b', 'c1']))).toBe('OCI_UNSUPPORTED');
    expect(code(() => parseArgv(['checkpoint', 'c1']))).toBe('OCI_UNSUPPORTED');
    // Object.prototype names are not commands.
    expect(code(() => parseArgv(['constructor', 'c1']))).toBe('OCI_USAGE');
  });

  it('checks IDs as runc does', () => {
    for (const ok of [
      'c1',
      'a.b-c_d+e,f',
      '976804a195c2e0bd2a17ce94137ccfcf3421b80c957a99d67dce6e51575eb1fa',
    ])
      expect(validateId(ok)).toBe(ok);
    for (const bad of ['.', '..', '../x', 'a/b', 'a b', '', 'x\n', 'é', '-rf', 'a'.repeat(1025)])
      expect(
        code(() => validateId(bad)),
        JSON.stringify(bad),
      ).toBe('OCI_INVALID_ID');
    expect(code(() => parseArgv(['delete', '--force', '../../etc']))).toBe('OCI_INVALID_ID');
    expect(code(() => parseArgv(['state', '--', '-x']))).toBe('OCI_INVALID_ID');
  });
});
