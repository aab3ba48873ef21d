/**
 * moat exec against real runc: docker's statuses when the command cannot run (127 not found,
 * 126 not executable or no such working directory), reported once as a moat error with a hint
 * (never runc's raw logrus line); users resolved as `run` resolves them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

/** One moat error, once: `moat: <message> [CODE]` and a hint, and nothing of runc's own. */
function oneError(stderr: string, code: string): string {
  expect(stderr).toMatch(new RegExp(`^moat: .+ \\[${code}\\]\\nhint: .+\\n$`));
  expect(stderr).not.toMatch(/level=|time="|exec failed:/);
  return stderr.split('\n')[0];
}

const name = uniq('exec');

beforeAll(async () => {
  // --read-write: a test adds a group to the container's own /etc/group.
  const r = await moat(['run', '-d', '--read-write', '--name', name, IMAGE, 'sleep', '300']);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await moat(['rm', '-f', name]);
});

describe('exec: a command that cannot run', () => {
  it('not found: 127', async () => {
    const r = await moat(['exec', name, 'nonexistent-cmd']);
    expect(r.code).toBe(127);
    expect(oneError(r.stderr, 'RUNTIME_COMMAND_NOT_FOUND')).toBe(
      `moat: cannot exec in ${name}: "nonexistent-cmd": executable file not found in $PATH [RUNTIME_COMMAND_NOT_FOUND]`,
    );
    const abs = await moat(['exec', name, '/no/such/binary']);
    expect(abs.code).toBe(127);
    oneError(abs.stderr, 'RUNTIME_COMMAND_NOT_FOUND');
  });

  it('not executable: 126', async () => {
    const r = await moat(['exec', name, '/etc/passwd']);
    expect(r.code).toBe(126);
    expect(oneError(r.stderr, 'RUNTIME_COMMAND_NOT_EXECUTABLE')).toMatch(
      /"\/etc\/passwd": permission denied/,
    );
  });

  it('no such working directory: 126', async () => {
    const r = await moat(['exec', '-w', '/nonexistent', name, 'true']);
    expect(r.code).toBe(126);
    expect(oneError(r.stderr, 'RUNTIME_EXEC_FAILED')).toMatch(
      /working directory "\/nonexistent": no such file/,
    );
  });

  it('a command that runs keeps its output, its order and its status', async () => {
    const r = await moat(['exec', '-w', '/tmp', name, 'sh', '-c', 'pwd; echo err >&2; echo two; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('/tmp\ntwo\n');
    expect(r.stderr).toBe('err\n');
  });

  it('a container that is not running: exit 1 with a hint', async () => {
    const stopped = uniq('exec-created');
    expect((await moat(['create', '--name', stopped, IMAGE, 'sleep', '1'])).code).toBe(0);
    const r = await moat(['exec', stopped, 'true']);
    expect(r.code).toBe(1);
    oneError(r.stderr, 'RUNTIME_INVALID_STATE');
    await moat(['rm', stopped]);
  });
});

describe('exec -u: users as run resolves them', () => {
  it('a name from the container’s /etc/passwd', async () => {
    const r = await moat(['exec', '-u', 'app', name, 'id']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('uid=1000(app) gid=1000(app)\n');
  });

  it("a numeric UID gets its user's group, as with run", async () => {
    const ids = ['sh', '-c', 'id -u; id -g'];
    const ex = await moat(['exec', '-u', '1000', name, ...ids]);
    expect(ex.code).toBe(0);
    const run = await moat(['run', '--rm', '-u', '1000', IMAGE, ...ids]);
    expect(ex.stdout).toBe(run.stdout);
    expect(ex.stdout).toBe('1000\n1000\n');
    const explicit = await moat(['exec', '-u', '1000:0', name, 'id', '-g']);
    expect(explicit.stdout).toBe('0\n');
  });

  it("supplementary groups come from the container's own /etc/group", async () => {
    const add = await moat(['exec', name, 'sh', '-c', 'echo "extra:x:2000:app" >> /etc/group']);
    expect(add.code).toBe(0);
    const r = await moat(['exec', '-u', 'app', name, 'id', '-G']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1000 2000\n');
  });

  it('an unknown name is refused (exit 2, with a hint)', async () => {
    const r = await moat(['exec', '-u', 'nosuch', name, 'id']);
    expect(r.code).toBe(2);
    oneError(r.stderr, 'RUNTIME_INVALID_OPTION');
  });
});

describe('run: a command that cannot run', () => {
  it('prints the error once, as a moat error', async () => {
    const r = await moat(['run', '--rm', IMAGE, 'nonexistent-cmd']);
    expect(r.code).toBe(127);
    expect(oneError(r.stderr, 'RUNTIME_COMMAND_NOT_FOUND')).toMatch(
      /^moat: cannot start \S+: "nonexistent-cmd": executable file not found in \$PATH/,
    );
    const nx = await moat(['run', '--rm', IMAGE, '/etc/passwd']);
    expect(nx.code).toBe(126);
    oneError(nx.stderr, 'RUNTIME_COMMAND_NOT_EXECUTABLE');
  });
});
