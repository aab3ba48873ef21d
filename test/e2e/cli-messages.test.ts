/**
 * What the CLI says and how it exits: every error is `moat: <message> [CODE]` plus a hint (or
 * JSON with --format json); commands act on every argument as docker does; run options are
 * checked with messages that name the flag.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { env, IMAGE, moat, uniq } from './moat.js';

/** One moat error: `moat: <message> [CODE]` and a hint line. */
function oneError(stderr: string, code: string): string {
  expect(stderr).toMatch(new RegExp(`^moat: .+ \\[${code}\\]\\nhint: .+\\n$`));
  return stderr.split('\n')[0];
}

async function names(): Promise<string[]> {
  const r = await moat(['ps', '-a', '--format', 'json']);
  return (JSON.parse(r.stdout) as { Names: string }[]).map((c) => c.Names);
}

describe('commands act on every argument', () => {
  it('rm: a bad argument in the middle stops nothing; exit 1', async () => {
    const [a, b] = [uniq('rm-a'), uniq('rm-b')];
    for (const n of [a, b]) expect((await moat(['create', '--name', n, IMAGE, 'true'])).code).toBe(0);
    const r = await moat(['rm', a, 'nosuch-container', b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${a}\n${b}\n`);
    expect(oneError(r.stderr, 'RUNTIME_CONTAINER_NOT_FOUND')).toMatch(/nosuch-container/);
    const left = await names();
    expect(left).not.toContain(a);
    expect(left).not.toContain(b);
  });

  it('stop and kill', async () => {
    const [a, b] = [uniq('stop-a'), uniq('stop-b')];
    for (const n of [a, b])
      expect((await moat(['run', '-d', '--name', n, IMAGE, 'sleep', '60'])).code).toBe(0);
    const stop = await moat(['stop', '-t', '1', a, 'nosuch-container', b]);
    expect(stop.code).toBe(1);
    expect(stop.stdout).toBe(`${a}\n${b}\n`);
    oneError(stop.stderr, 'RUNTIME_CONTAINER_NOT_FOUND');
    for (const n of [a, b]) expect((await moat(['start', n])).code).toBe(0);
    const kill = await moat(['kill', a, 'nosuch-container', b]);
    expect(kill.code).toBe(1);
    expect(kill.stdout).toBe(`${a}\n${b}\n`);
    for (const n of [a, b]) expect((await moat(['wait', n])).stdout).toBe('137\n');
    await moat(['rm', '-f', a, b]);
  });

  it('rmi', async () => {
    const [a, b] = [`localhost/${uniq('rmi-a')}:1`, `localhost/${uniq('rmi-b')}:1`];
    for (const n of [a, b]) expect((await moat(['tag', IMAGE, n])).code).toBe(0);
    const r = await moat(['rmi', a, 'localhost/nosuch-image:1', b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Untagged: ${a}\nUntagged: ${b}\n`);
    oneError(r.stderr, 'IMAGE_NOT_FOUND');
  });
});

describe('usage errors', () => {
  it('an unknown command is refused, with --help too, without a misleading suggestion', async () => {
    for (const args of [['swarm'], ['swarm', '--help']]) {
      const r = await moat(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(oneError(r.stderr, 'CLI_USAGE')).toBe("moat: unknown command 'swarm' [CLI_USAGE]");
      expect(r.stderr).toMatch(/moat has no swarm command \(yet\)/);
      expect(r.stderr).not.toMatch(/start/);
    }
  });

  it("commander's errors are moat errors with a hint", async () => {
    const r = await moat(['run', '--privileged', IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'CLI_USAGE')).toBe("moat: unknown option '--privileged' [CLI_USAGE]");
    expect(r.stderr).toMatch(/hint: .*never runs privileged containers/);
    // A host port only root may bind: said before anything starts, with what to do.
    const low = await moat(['run', '--rm', '-p', '80:80', IMAGE, 'true']);
    expect(low.code).toBe(2);
    expect(low.stderr).toMatch(/host port 80 is below 1024: only root may publish it/);
    expect(low.stderr).toMatch(/hint: publish on a higher port \(-p 8080:80\)/);
  });

  it('--format json applies to usage errors', async () => {
    const r = await moat(['ps', '--format', 'json', '--bogus']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    expect(out.error).toMatchObject({ code: 'CLI_USAGE', message: "unknown option '--bogus'" });
    expect(out.error.hint).toMatch(/moat ps --help/);
  });

  it('schema paths are said as the flag', async () => {
    const r = await moat(['run', '--rm', '-e', '=x', IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'CLI_USAGE')).toBe(
      'moat: -e/--env "=x": must be KEY=VALUE (or KEY, to pass on your own value) [CLI_USAGE]',
    );
    const w = await moat(['run', '--rm', '-w', 'rel', IMAGE, 'true']);
    expect(oneError(w.stderr, 'CLI_USAGE')).toBe(
      'moat: -w/--workdir "rel": must be an absolute path [CLI_USAGE]',
    );
  });

  it('a flag value that is not a number names the flag and the command', async () => {
    const tail = await moat(['logs', '--tail', 'abc', 'x']);
    expect(tail.code).toBe(2);
    expect(oneError(tail.stderr, 'CLI_USAGE')).toBe(
      'moat: --tail "abc": must be a whole number from 0 [CLI_USAGE]',
    );
    expect(tail.stderr).toMatch(/hint: moat logs --help/);
    const time = await moat(['stop', '-t', 'soon', 'x']);
    expect(time.code).toBe(2);
    expect(time.stderr).toMatch(/-t\/--time "soon": must be a whole number from 0 to 86400/);
  });

  it('logout without a registry is a usage error (2), not 125', async () => {
    const r = await moat(['logout']);
    expect(r.code).toBe(2);
    oneError(r.stderr, 'CLI_USAGE');
  });
});

describe('errors that had no hint', () => {
  it('an unreachable registry', async () => {
    const r = await moat(['pull', '127.0.0.1:1/nothing/here:1']);
    expect(r.code).toBe(125);
    oneError(r.stderr, 'REGISTRY_UNREACHABLE');
  });

  it('a container in the wrong state', async () => {
    const n = uniq('state');
    expect((await moat(['create', '--name', n, IMAGE, 'true'])).code).toBe(0);
    const r = await moat(['kill', n]);
    expect(r.code).toBe(1);
    oneError(r.stderr, 'RUNTIME_INVALID_STATE');
    await moat(['rm', n]);
  });
});

describe('run options', () => {
  it('--security-opt seccomp=unconfined is refused as such (2)', async () => {
    const r = await moat(['run', '--rm', '--security-opt', 'seccomp=unconfined', IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'SECCOMP_UNCONFINED_REFUSED')).toBe(
      'moat: --security-opt seccomp=unconfined is refused [SECCOMP_UNCONFINED_REFUSED]',
    );
    expect(r.stderr).toMatch(/hint: moat always applies a seccomp profile/);
  });

  it('--security-opt no-new-privileges is accepted (it is always on)', async () => {
    for (const opt of ['no-new-privileges', 'no-new-privileges:true']) {
      const r = await moat([
        'run',
        '--rm',
        '--security-opt',
        opt,
        IMAGE,
        'sh',
        '-c',
        'grep NoNewPrivs /proc/self/status',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    }
  });

  it('--tmpfs with a bad size says the size is invalid', async () => {
    const r = await moat(['run', '--rm', '--tmpfs', '/d:size=abc', IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'RUNTIME_INVALID_OPTION')).toBe(
      'moat: invalid tmpfs size "abc" in "/d:size=abc" [RUNTIME_INVALID_OPTION]',
    );
  });

  it("--cpus beyond the host's CPUs is refused", async () => {
    const n = availableParallelism();
    const r = await moat(['run', '--rm', '--cpus', String(n + 3), IMAGE, 'true']);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr, 'RUNTIME_INVALID_OPTION')).toMatch(
      new RegExp(`the range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`),
    );
  });

  it('-e VAR with VAR unset on the host leaves it unset', async () => {
    const e: NodeJS.ProcessEnv = { ...env(), MOAT_E2E_SET: 'here' };
    delete e.MOAT_E2E_UNSET;
    const r = await moat(
      [
        'run',
        '--rm',
        '-e',
        'MOAT_E2E_UNSET',
        '-e',
        'MOAT_E2E_SET',
        IMAGE,
        'sh',
        '-c',
        'echo "${MOAT_E2E_UNSET-unset} $MOAT_E2E_SET"',
      ],
      { env: e },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('unset here\n');
  });
});
