/**
 * `moat run` flags as the user types them, through commander's parsing of the real `run` command
 * and `toRunOptions`, into the RunOptions sent to the router. The request is not made: the test
 * replaces the command's action. Errors are asserted by code: RUNTIME_INVALID_OPTION for a value
 * the option parsers refuse, CLI_USAGE for what commander refuses (as `main` reports it).
 */
import * as path from 'node:path';
import { CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { toRunOptions } from '../../../src/cli/run-options.js';
import { buildProgram, loadParts } from '../../../src/cli/index.js';
import { fromCommander, resolveCommandLine } from '../../../src/cli/usage.js';
import type { MoatError } from '../../../src/errors.js';
import { defaultRunOptions, type RunOptions } from '../../../src/runtime/options.js';

/** The whole command tree's parts, loaded once (buildProgram builds a fresh tree of them). */
const WHOLE = await loadParts();

/** The RunOptions `moat run ARGS...` would send. */
async function run(args: string[]): Promise<RunOptions> {
  const program = buildProgram({ exitCode: 0, json: false }, WHOLE);
  const cmd = program.commands.find((c) => c.name() === 'run')!;
  let got: RunOptions | undefined;
  cmd.action((image: string, argv: string[], flags: Parameters<typeof toRunOptions>[2]) => {
    got = toRunOptions(image, argv, flags);
  });
  await program.parseAsync(['run', ...args], { from: 'user' });
  if (!got) throw new Error(`moat run ${args.join(' ')}: the action did not run`);
  return got;
}

/** The error `moat run ARGS...` stops with, as main() reports it (commander's as CLI_USAGE). */
async function refused(args: string[]): Promise<MoatError> {
  try {
    await run(args);
  } catch (e) {
    if (e instanceof CommanderError)
      return fromCommander(
        e,
        resolveCommandLine(buildProgram({ exitCode: 0, json: false }, WHOLE), ['run', ...args]),
      );
    return e as MoatError;
  }
  throw new Error(`moat run ${args.join(' ')} was accepted`);
}

afterEach(() => {
  delete process.env.MOAT_RUN_FLAGS_SET;
  delete process.env.MOAT_RUN_FLAGS_UNSET;
});

describe('moat run flags → RunOptions', () => {
  it('no flags: the defaults, and nothing else', async () => {
    expect(await run(['img'])).toEqual(defaultRunOptions('img'));
  });

  it('the command and its arguments are the container’s, flags after the image included', async () => {
    const o = await run(['--rm', 'img', 'sh', '-c', 'echo -e x', '--rm', '-e', 'X=1']);
    expect(o.cmd).toEqual(['sh', '-c', 'echo -e x', '--rm', '-e', 'X=1']);
    expect(o.rm).toBe(true);
    expect(o.env).toEqual([]);
  });

  it("-e VAR takes the caller's value and is left out when the caller has none; -e K=V as given", async () => {
    process.env.MOAT_RUN_FLAGS_SET = 'from caller';
    delete process.env.MOAT_RUN_FLAGS_UNSET;
    const o = await run([
      '-e',
      'MOAT_RUN_FLAGS_SET',
      '-e',
      'MOAT_RUN_FLAGS_UNSET',
      '--env',
      'A=1',
      '--env=B=',
      '-e',
      'C=x=y',
      'img',
    ]);
    expect(o.env).toEqual(['MOAT_RUN_FLAGS_SET=from caller', 'A=1', 'B=', 'C=x=y']);
  });

  it('-v: an absolute host path, normalised; :ro makes it read-only', async () => {
    const o = await run(['-v', '/data:/d:ro', '-v', '/srv/a/../b/:/b', '-v', '/abs:/abs:rw', 'img']);
    expect(o.volumes).toEqual([
      { host: '/data', container: '/d', readonly: true },
      { host: '/srv/b', container: '/b', readonly: false },
      { host: '/abs', container: '/abs', readonly: false },
    ]);
  });

  it('-v with a path that is no volume name, a relative target, a bad mode or a relabel: RUNTIME_INVALID_OPTION', async () => {
    for (const v of [
      './data:/d',
      '/h:rel',
      '/h:/c:exec',
      'h',
      ':/c',
      '/h:/c:z',
      '/h:/c:Z',
      '/h:/c:rshared',
      '/h:/c:nocopy',
      'x:/c',
    ])
      expect((await refused(['-v', v, 'img'])).code, v).toBe('RUNTIME_INVALID_OPTION');
  });

  it('-v NAME:/path is a named volume, -v /path an anonymous one; private propagation is what binds are', async () => {
    expect((await run(['-v', 'data:/d:ro,nocopy', 'img'])).volumes).toEqual([
      { host: '', container: '/d', readonly: true, volume: 'data', nocopy: true },
    ]);
    expect((await run(['-v', '/d', 'img'])).volumes).toEqual([
      { host: '', container: '/d', readonly: false, volume: '', anonymous: true },
    ]);
    expect((await run(['-v', '/h:/c:rprivate', 'img'])).volumes).toEqual([
      { host: '/h', container: '/c', readonly: false },
    ]);
    expect((await run(['--volumes-from', 'web:ro', 'img'])).volumesFrom).toEqual(['web:ro']);
  });

  it('--pids-limit: -1 and 0 mean no limit, a positive number is the limit, anything else is refused', async () => {
    expect((await run(['img'])).pidsLimit).toBeUndefined();
    expect((await run(['--pids-limit', '-1', 'img'])).pidsLimit).toBe(-1);
    expect((await run(['--pids-limit=0', 'img'])).pidsLimit).toBe(-1);
    expect((await run(['--pids-limit', '100', 'img'])).pidsLimit).toBe(100);
    for (const v of ['-2', '1.5', 'many', ''])
      expect((await refused([`--pids-limit=${v}`, 'img'])).code, v).toBe('RUNTIME_INVALID_OPTION');
  });

  it('--tmpfs: the path and its options, in order; a relative path or an unknown option is refused', async () => {
    const o = await run(['--tmpfs', '/scratch:size=64m,mode=1777,noexec', '--tmpfs', '/plain', 'img']);
    expect(o.tmpfs).toEqual([
      { path: '/scratch', options: ['size=64m', 'mode=1777', 'noexec'] },
      { path: '/plain', options: [] },
    ]);
    for (const t of ['scratch', '/s:size=lots', '/s:mode=999', '/s:nosuch', '/s:uid=root'])
      expect((await refused(['--tmpfs', t, 'img'])).code, t).toBe('RUNTIME_INVALID_OPTION');
  });

  it('-m, --cpus, --ulimit, -l, --entrypoint "", --read-write, --init, -i: as typed', async () => {
    const o = await run([
      '-m',
      '32m',
      '--cpus',
      '0.5',
      '--ulimit',
      'nofile=1024:2048',
      '--ulimit',
      'nproc=64',
      '-l',
      'a=b=c',
      '-l',
      'flag',
      '--entrypoint',
      '',
      '--read-write',
      '--init',
      '-i',
      '--name',
      'web',
      '-w',
      '/srv',
      '-u',
      '1000:1000',
      'img',
    ]);
    expect(o).toMatchObject({
      memory: 32 * 1024 ** 2,
      cpus: 0.5,
      ulimits: [
        { name: 'nofile', soft: 1024, hard: 2048 },
        { name: 'nproc', soft: 64, hard: 64 },
      ],
      labels: { a: 'b=c', flag: '' },
      entrypoint: [],
      readWrite: true,
      init: true,
      interactive: true,
      name: 'web',
      workdir: '/srv',
      user: '1000:1000',
    });
  });

  it('bad values of -m, --cpus, --ulimit, --security-opt: RUNTIME_INVALID_OPTION', async () => {
    for (const args of [
      ['-m', 'lots'],
      ['--cpus', '0'],
      ['--cpus', 'x'],
      ['--ulimit', 'nofile=1024:x'],
      ['--ulimit', 'nofile'],
      ['--security-opt', 'apparmor=../etc'],
      ['--security-opt', 'label=disable'],
    ])
      expect((await refused([...args, 'img'])).code, args.join(' ')).toBe('RUNTIME_INVALID_OPTION');
  });

  it('--security-opt apparmor=NAME names the profile (unconfined too: the policy sees it)', async () => {
    expect((await run(['--security-opt', 'apparmor=moat-web', 'img'])).apparmorProfile).toBe('moat-web');
    expect((await run(['--security-opt', 'apparmor=unconfined', 'img'])).apparmorProfile).toBe('unconfined');
    expect((await run(['img'])).apparmorProfile).toBeUndefined();
  });

  it('--security-opt seccomp=FILE is resolved to an absolute path; seccomp=unconfined has its own code', async () => {
    expect((await run(['--security-opt', 'seccomp=prof.json', 'img'])).seccompProfile).toBe(
      path.resolve('prof.json'),
    );
    expect((await refused(['--security-opt', 'seccomp=unconfined', 'img'])).code).toBe(
      'SECCOMP_UNCONFINED_REFUSED',
    );
  });

  it('what commander refuses is CLI_USAGE: no image, a flag without its value, an unknown flag', async () => {
    for (const args of [[], ['--pids-limit'], ['--no-such-flag', 'img'], ['-m']]) {
      const e = await refused(args);
      expect(e.code, args.join(' ')).toBe('CLI_USAGE');
      expect(e.hint, args.join(' ')).toMatch(/moat run --help/);
    }
  });
});
