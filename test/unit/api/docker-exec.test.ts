/** docker exec's config as moat's exec request: what is refused, what is carried over. */
import { describe, expect, it } from 'vitest';
import { execBodyFromDocker } from '../../../src/api/docker/exec.js';
import { MoatError } from '../../../src/errors.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof MoatError ? e.code : 'not a MoatError';
  }
  return undefined;
};

describe('execBodyFromDocker', () => {
  it("carries the command, the environment, the user and the working directory (the CLI's empty ones dropped)", () => {
    expect(
      execBodyFromDocker({
        Cmd: ['id', '-u'],
        Env: ['A=1'],
        User: '0',
        WorkingDir: '/tmp',
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Privileged: false,
        DetachKeys: '',
      }),
    ).toEqual({ cmd: ['id', '-u'], env: ['A=1'], user: '0', workdir: '/tmp' });
    expect(execBodyFromDocker({ Cmd: ['true'], Env: null, User: '', WorkingDir: '' })).toEqual({
      cmd: ['true'],
      env: [],
    });
  });

  it('carries a TTY (-t) and stdin (-i)', () => {
    expect(execBodyFromDocker({ Cmd: ['sh'], Tty: true, AttachStdin: true })).toEqual({
      cmd: ['sh'],
      env: [],
      tty: true,
      interactive: true,
    });
  });

  it('refuses --privileged and a missing command', () => {
    for (const b of [{ Cmd: ['sh'], Privileged: true }, { Cmd: [] }, {}])
      expect(
        code(() => execBodyFromDocker(b)),
        JSON.stringify(b),
      ).toBe('API_INVALID_REQUEST');
  });
});
