/**
 * exec and the container's cgroups: the command starts inside the cgroups that carry the
 * container's limits, or it does not start. (Rootless runc ignores a failure to move the command
 * there, so moat puts the launcher there before runc starts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, renameSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { IMAGE, moat, uniq } from './moat.js';

const name = uniq('exec-cg');
/** The container's limit-bearing cgroups (`<delegated>/moat-<id16>/<id>`), by controller. */
let limited: Record<string, string> = {};

beforeAll(async () => {
  const r = await moat([
    'run',
    '-d',
    '--name',
    name,
    '--pids-limit',
    '64',
    '--memory',
    '64m',
    IMAGE,
    'sleep',
    '1000',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const insp = JSON.parse((await moat(['inspect', name])).stdout) as {
    id: string;
    cgroups: Record<string, string>;
  }[];
  limited = Object.fromEntries(
    Object.entries(insp[0].cgroups).map(([c, top]) => [c, path.join(top, insp[0].id)]),
  );
  // and a freezer cgroup where one is delegated (pause)
  expect(
    Object.keys(limited)
      .filter((c) => c !== 'freezer')
      .sort(),
  ).toEqual(['memory', 'pids']);
});

afterAll(async () => {
  await moat(['rm', '-f', name]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('exec and the container’s cgroups', () => {
  it('the command runs in the cgroups that carry the limits', async () => {
    const r = await moat(['exec', name, 'cat', '/proc/self/cgroup']);
    expect(r.code, r.stderr).toBe(0);
    // Seen through the container's cgroup namespace, its own cgroup is "/" (the parent: "/..").
    for (const c of ['pids', 'memory']) {
      const line = r.stdout.split('\n').find((l) => (l.split(':')[1] ?? '').split(',').includes(c));
      expect(line, r.stdout).toMatch(/:\/$/);
    }
  });

  it('runc itself does not stay there: its threads do not count against --pids-limit', async () => {
    const exec = moat(['exec', name, 'sleep', '3']);
    const read = (f: string) => readFileSync(path.join(limited.pids, f), 'utf8');
    const cmdline = (pid: string) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    // Once the exec'd sleep runs, only it and the container's own sleep stay in the cgroup: runc
    // exec (about ten threads) is there only while it starts the command.
    let current = '';
    for (let i = 0; i < 60 && current !== '2'; i++) {
      await sleep(50);
      const running = read('cgroup.procs')
        .split('\n')
        .some((pid) => cmdline(pid) === 'sleep\u00003\u0000');
      if (running) current = read('pids.current').trim();
    }
    expect(current).toBe('2');
    expect((await exec).code).toBe(0);
  });

  it('a limits cgroup that is gone: the command is not run (RUNTIME_CGROUP_JOIN_FAILED, exit 125)', async () => {
    // Renamed aside, as good as removed for runc, which would step over its failed join and leave
    // the command where runc runs: outside --pids-limit (its cgroup reads "/.." from inside).
    const aside = `${limited.pids}.aside`;
    renameSync(limited.pids, aside);
    let r;
    try {
      r = await moat(['exec', name, 'sh', '-c', 'echo ran; cat /proc/self/cgroup']);
    } finally {
      renameSync(aside, limited.pids);
    }
    expect(r.stdout).toBe('');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/could not put the command into the cgroups of container .*, so it was not run/);
    expect(r.stderr).toMatch(/RUNTIME_CGROUP_JOIN_FAILED/);
    expect(r.stderr).toMatch(/stop and start the container/);
    // Nothing was left behind, and exec works again once the cgroup is back.
    const again = await moat(['exec', name, 'echo', 'ok']);
    expect([again.code, again.stdout]).toEqual([0, 'ok\n']);
  });

  it('a limits cgroup moat cannot write to: refused as well', async () => {
    // (runc, container root over the user's own files, would override the mode; moat does not.)
    const procs = path.join(limited.pids, 'cgroup.procs');
    const mode = statSync(procs).mode & 0o777;
    chmodSync(procs, 0o444);
    let r;
    try {
      r = await moat(['exec', name, 'echo', 'ran']);
    } finally {
      chmodSync(procs, mode);
    }
    expect([r.code, r.stdout]).toEqual([125, '']);
    expect(r.stderr).toMatch(/EACCES|permission denied/i);
  });
});
