/** The process a request makes run, as the policy sees it: the container's own, or exec's. */
import { describe, expect, it } from 'vitest';
import { processFacts } from '../../../src/api/process-facts.js';

const spec = {
  process: {
    terminal: false,
    user: { uid: 1000, gid: 1000, additionalGids: [10] },
    args: ['sleep', '300'],
    env: ['PATH=/bin', 'HOME=/home/app', 'A=1'],
    cwd: '/srv',
    capabilities: {
      bounding: ['CAP_NET_RAW'],
      effective: ['CAP_NET_RAW'],
      permitted: ['CAP_NET_RAW'],
      inheritable: [],
      ambient: [],
    },
    rlimits: [],
    noNewPrivileges: true,
  },
};

describe('processFacts', () => {
  it("the container's own process (run, create, start)", () => {
    expect(processFacts(spec)).toEqual({
      user: '1000',
      uid: 1000,
      gid: 1000,
      additional_gids: [10],
      cmd: ['sleep', '300'],
      env: ['PATH=/bin', 'HOME=/home/app', 'A=1'],
      workdir: '/srv',
      tty: false,
      capabilities: ['NET_RAW'],
      no_new_privileges: true,
    });
  });

  it("exec's command: its user as resolved, the container's env with exec's after it, its workdir", () => {
    const f = processFacts(
      spec,
      { cmd: ['id'], env: ['A=2', 'B=3'], user: 'root', workdir: '/tmp', interactive: true },
      { uid: 0, gid: 0, home: '/root', additionalGids: [] },
    );
    expect(f).toEqual({
      user: '0',
      raw_user: 'root',
      uid: 0,
      gid: 0,
      additional_gids: [],
      cmd: ['id'],
      env: ['PATH=/bin', 'HOME=/home/app', 'A=2', 'B=3'],
      workdir: '/tmp',
      tty: false,
      capabilities: ['NET_RAW'],
      no_new_privileges: true,
    });
  });

  it("exec without -u runs as the container's user; a name that did not resolve has no UID", () => {
    expect(processFacts(spec, { cmd: ['id'] })).toMatchObject({ user: '1000', uid: 1000, workdir: '/srv' });
    const f = processFacts(spec, { cmd: ['id'], user: 'nobody:nogroup' });
    expect(f.user).toBe('nobody:nogroup');
    expect(f.raw_user).toBe('nobody:nogroup');
    expect(f).not.toHaveProperty('uid');
  });

  it('a spec that says little (or nothing) claims nothing', () => {
    expect(processFacts(undefined, { cmd: ['true'] })).toEqual({
      user: '',
      cmd: ['true'],
      env: [],
      workdir: '/',
      tty: false,
      capabilities: [],
      no_new_privileges: false,
    });
  });
});
