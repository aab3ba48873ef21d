/** runc's reasons for not starting a command, as moat errors with docker's statuses. */
import { describe, expect, it } from 'vitest';
import { describeError } from '../../../src/error-table.js';
import { runcReason, startError } from '../../../src/runtime/start-errors.js';

const exec = { kind: 'exec' as const, name: 'c' };

describe('startError', () => {
  it('a command not found is 127', () => {
    const e = startError(
      'exec failed: unable to start container process: exec: "nonexistent-cmd": executable file not found in $PATH',
      exec,
    );
    expect(e.code).toBe('RUNTIME_COMMAND_NOT_FOUND');
    expect(e.message).toBe('cannot exec in c: "nonexistent-cmd": executable file not found in $PATH');
    expect(describeError(e).exit).toBe(127);
    const abs = startError(
      'exec failed: unable to start container process: exec: "/a/b": stat /a/b: no such file or directory',
      exec,
    );
    expect(abs.code).toBe('RUNTIME_COMMAND_NOT_FOUND');
    expect(abs.message).toBe('cannot exec in c: "/a/b": no such file or directory');
  });

  it('a file that cannot be executed is 126', () => {
    const e = startError(
      'exec failed: unable to start container process: exec: "/etc/passwd": permission denied',
      exec,
    );
    expect(e.code).toBe('RUNTIME_COMMAND_NOT_EXECUTABLE');
    expect(describeError(e).exit).toBe(126);
  });

  it('a missing working directory is 126 with its own hint', () => {
    const e = startError(
      'exec failed: unable to start container process: chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory',
      exec,
    );
    expect(e.code).toBe('RUNTIME_EXEC_FAILED');
    expect(e.message).toBe('cannot exec in c: working directory "/nonexistent": no such file or directory');
    expect(e.hint).toMatch(/-w/);
    expect(describeError(e).exit).toBe(126);
  });

  it("a run keeps the status already recorded; anything else is the kind's generic code", () => {
    const e = startError(
      'runc run failed: unable to start container process: exec: "x": executable file not found in $PATH',
      {
        kind: 'run',
        name: 'web',
        exitCode: 127,
      },
    );
    expect(e.message).toBe('cannot start web: "x": executable file not found in $PATH');
    expect(describeError(e).exit).toBe(127);
    const other = startError('something odd', { kind: 'run', name: 'web', exitCode: 125 });
    expect(other.code).toBe('RUNTIME_START_FAILED');
    expect(describeError(other).hint.length).toBeGreaterThan(10);
  });

  it('strips only the preamble', () => {
    expect(runcReason('exec failed: unable to start container process: exec: "x": boom')).toBe(
      'exec: "x": boom',
    );
  });
});
