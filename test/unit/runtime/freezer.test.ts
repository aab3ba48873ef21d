/** pause and unpause on a fake freezer cgroup: the files written, the record, the refusals. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cgroupFrozen,
  createCgroups,
  freezeCgroup,
  freezerFiles,
  killCgroups,
  thawCgroup,
} from '../../../src/runtime/cgroups.js';
import { pauseContainer, thawAfterKill, unpauseContainer } from '../../../src/runtime/freezer.js';
import { humanStatus, dockerState } from '../../../src/runtime/status.js';
import { fakeLifecycle } from './lifecycle-fake.js';

const V1 = { version: 'v1' as const, delegated: { freezer: '/unused' }, missing: {} };

function freezerDir(base: string, v2 = false): string {
  const dir = path.join(base, 'freezer', 'moat-x');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '0\n' : 'THAWED\n');
  if (v2) writeFileSync(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
  return dir;
}

describe('the freezer files', () => {
  it('v1: freezer.state FROZEN/THAWED; v2: cgroup.freeze, frozen 1 in cgroup.events', () => {
    expect(freezerFiles('hybrid')).toMatchObject({
      file: 'freezer.state',
      frozen: 'FROZEN',
      thawed: 'THAWED',
    });
    expect(freezerFiles('v2')).toMatchObject({ file: 'cgroup.freeze', frozen: '1', state: 'cgroup.events' });
    expect(freezerFiles('v1').isFrozen('FREEZING\n')).toBe(false);
    expect(freezerFiles('v2').isFrozen('populated 1\nfrozen 1\n')).toBe(true);
  });

  it('freeze waits for the state to say so, and undoes itself when it does not', async () => {
    const { base } = fakeLifecycle();
    const dir = freezerDir(base);
    await freezeCgroup(dir, 'v1');
    expect(await cgroupFrozen(dir, 'v1')).toBe(true);
    await thawCgroup(dir);
    expect(readFileSync(path.join(dir, 'freezer.state'), 'utf8')).toBe('THAWED');
    // v2: cgroup.events never says frozen here (nothing updates it): refused, and thawed again
    const v2 = freezerDir(path.join(base, 'v2'), true);
    await expect(freezeCgroup(v2, 'v2', 50)).rejects.toThrow(/did not read frozen/);
    expect(readFileSync(path.join(v2, 'cgroup.freeze'), 'utf8')).toBe('0');
  });

  it('a container gets a freezer cgroup where one is delegated; killing its cgroups thaws it', async () => {
    const { base } = fakeLifecycle();
    const root = path.join(base, 'sys', 'freezer', 'u');
    mkdirSync(root, { recursive: true });
    const id = 'a'.repeat(64);
    const paths = await createCgroups(id, {}, { version: 'v1', delegated: { freezer: root }, missing: {} });
    expect(paths).toEqual({ freezer: path.join(root, 'moat-aaaaaaaaaaaaaaaa') });
    writeFileSync(path.join(paths.freezer!, 'freezer.state'), 'FROZEN');
    await killCgroups(paths);
    expect(readFileSync(path.join(paths.freezer!, 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(await createCgroups(id, {}, { version: 'v1', delegated: {}, missing: {} })).toEqual({});
  });
});

describe('pause and unpause', () => {
  it('freeze the container’s freezer cgroup and say so in its record (ps, docker’s state)', async () => {
    const { e, put, base } = fakeLifecycle(V1);
    const rec = await put({ cgroups: { freezer: freezerDir(base) } });
    await pauseContainer(e, rec.name);
    const paused = await e.containers.load(rec.id);
    expect(paused.paused).toBe(true);
    expect(readFileSync(path.join(rec.cgroups.freezer!, 'freezer.state'), 'utf8')).toBe('FROZEN');
    expect(humanStatus(paused)).toMatch(/^Up .* \(Paused\)$/);
    expect(dockerState(paused)).toBe('paused');
    await expect(pauseContainer(e, rec.name)).rejects.toMatchObject({
      code: 'RUNTIME_INVALID_STATE',
      message: expect.stringMatching(/already paused/),
    });
    await unpauseContainer(e, rec.name);
    const resumed = await e.containers.load(rec.id);
    expect(resumed.paused).toBeUndefined();
    expect(dockerState(resumed)).toBe('running');
    expect(readFileSync(path.join(rec.cgroups.freezer!, 'freezer.state'), 'utf8')).toBe('THAWED');
    await expect(unpauseContainer(e, rec.name)).rejects.toMatchObject({
      code: 'RUNTIME_INVALID_STATE',
      message: expect.stringMatching(/is not paused/),
    });
  });

  it('no freezer delegated: refused naming what is missing, with what root would do', async () => {
    const { e, put } = fakeLifecycle({
      version: 'hybrid',
      delegated: { pids: '/p' },
      missing: {
        freezer: 'no cgroup v1 freezer subtree is delegated to u (looked for /sys/fs/cgroup/freezer/u)',
      },
    });
    const rec = await put();
    const err = await pauseContainer(e, rec.name).catch((x: unknown) => x);
    expect(err).toMatchObject({
      code: 'RUNTIME_PAUSE_UNSUPPORTED',
      message: `cannot pause ${rec.name}: no cgroup v1 freezer subtree is delegated to u (looked for /sys/fs/cgroup/freezer/u)`,
      hint: expect.stringMatching(/mkdir \/sys\/fs\/cgroup\/freezer\/\$USER/),
    });
  });

  it('delegated, but the container started without one: restart it', async () => {
    const { e, put } = fakeLifecycle(V1);
    const rec = await put();
    await expect(pauseContainer(e, rec.name)).rejects.toMatchObject({
      code: 'RUNTIME_PAUSE_UNSUPPORTED',
      hint: `restart it (moat restart ${rec.name}) to give it one`,
    });
  });

  it('a container that is not running cannot be paused', async () => {
    const { e, put } = fakeLifecycle(V1);
    const rec = await put({ status: 'exited', exitCode: 0 });
    await expect(pauseContainer(e, rec.name)).rejects.toMatchObject({ code: 'RUNTIME_INVALID_STATE' });
    expect(humanStatus({ ...rec, paused: true })).toMatch(/^Exited/);
  });

  it('SIGKILL to a paused container thaws it; other signals wait', async () => {
    const { base } = fakeLifecycle();
    const dir = freezerDir(base);
    writeFileSync(path.join(dir, 'freezer.state'), 'FROZEN');
    const rec = { paused: true, cgroups: { freezer: dir } } as Parameters<typeof thawAfterKill>[0];
    await thawAfterKill(rec, 'TERM');
    expect(readFileSync(path.join(dir, 'freezer.state'), 'utf8')).toBe('FROZEN');
    await thawAfterKill(rec, 'KILL');
    expect(readFileSync(path.join(dir, 'freezer.state'), 'utf8')).toBe('THAWED');
  });
});
