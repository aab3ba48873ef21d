/**
 * The event log (issue #15): `moat events` and the docker CLI's `docker events` against the
 * service see what happened to containers, in order, with the exit code, filtered and bounded by
 * time as docker's are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { mainWorld, type World } from './registry-helpers.js';

interface DockerEvent {
  Type: string;
  Action: string;
  id: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
}

const since = () => (Date.now() / 1000 - 1).toFixed(3);
const nowSec = () => (Date.now() / 1000 + 1).toFixed(3);

/** `moat events --format json` since `from`, until now, for one container and these actions. */
async function eventsOf(from: string, name: string, actions: string[]): Promise<DockerEvent[]> {
  const filters = [`container=${name}`, ...actions.map((a) => `event=${a}`)].flatMap((f) => ['--filter', f]);
  const r = await moat(['events', '--since', from, '--until', nowSec(), ...filters, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as DockerEvent);
}

describe('moat events', () => {
  it('create, start, die with the exit code, destroy: in order, for one container', async () => {
    const from = since();
    const name = uniq('ev');
    expect((await moat(['run', '--rm', '--name', name, IMAGE, 'sh', '-c', 'exit 3'])).code).toBe(3);
    const r = await moat(['events', '--since', from, '--until', nowSec(), '--filter', `container=${name}`]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[2])).toEqual(['create', 'start', 'die', 'destroy']);
    expect(lines[2]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:]{8}\\.\\d{9}Z container die [0-9a-f]{64} \\(exitCode=3, image=${IMAGE}, name=${name}\\)$`,
      ),
    );
  });

  it("kill, die, stop and exec events; filters by event; JSON in docker's shape", async () => {
    const from = since();
    const name = uniq('ev');
    expect((await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '100'])).code).toBe(0);
    expect((await moat(['exec', name, 'true'])).code).toBe(0);
    expect((await moat(['kill', name])).code).toBe(0);
    expect((await moat(['wait', name])).code).toBe(0);
    const evs = await eventsOf(from, name, ['die', 'kill', 'exec_die']);
    expect(evs.map((e) => e.Action)).toEqual(['exec_die', 'kill', 'die']);
    expect(evs[1].Actor.Attributes).toMatchObject({ name, signal: 'KILL' });
    expect(evs[2].Actor.Attributes.exitCode).toBe('137');
    await moat(['rm', name]);
  });

  it('follows: an event that happens while it waits is printed', async () => {
    const name = uniq('ev');
    const follow = moat([
      'events',
      '--since',
      since(),
      '--until',
      (Date.now() / 1000 + 6).toFixed(3),
      '--filter',
      `container=${name}`,
      '--filter',
      'event=create',
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await moat(['create', '--name', name, IMAGE, 'true'])).code).toBe(0);
    const r = await follow;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`container create [0-9a-f]{64} \\(image=${IMAGE}, name=${name}\\)`));
    await moat(['rm', name]);
  });

  it('rename, update and restart are events too', async () => {
    const from = since();
    const name = uniq('ev');
    const renamed = `${name}-b`;
    expect((await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '100'])).code).toBe(0);
    expect((await moat(['rename', name, renamed])).code).toBe(0);
    const u = await moat(['update', '--pids-limit', '50', renamed]);
    expect(u.code, u.stderr).toBe(0);
    expect((await moat(['restart', '-t', '1', renamed])).code).toBe(0);
    const evs = await eventsOf(from, renamed, ['rename', 'update', 'restart']);
    expect(evs.map((e) => e.Action)).toEqual(['rename', 'update', 'restart']);
    expect(evs[0].Actor.Attributes).toMatchObject({ name: renamed, oldName: name });
    await moat(['rm', '-f', renamed]);
  });

  it('a bad time or filter is a usage error that says what is accepted', async () => {
    const t = await moat(['events', '--since', 'yesterday', '--until', '0s']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/invalid --since "yesterday" \[API_INVALID_REQUEST\]/);
    expect(t.stderr).toMatch(/hint: .*Unix seconds/);
    const f = await moat(['events', '--filter', 'colour=red', '--until', '0s']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/invalid filter "colour=red"/);
  });
});

describe('docker events against the service', () => {
  let w: World;
  let svc: Service;
  beforeAll(async () => {
    w = mainWorld('events');
    svc = await startService(w);
  });
  afterAll(async () => {
    if (svc) await stopService(svc);
  });

  it('sees a docker run --rm as docker would', () => {
    const from = since();
    const name = uniq('dev');
    expect(docker(svc, w, ['run', '--rm', '--name', name, IMAGE, 'sh', '-c', 'exit 4']).code).toBe(4);
    const r = docker(svc, w, [
      'events',
      '--since',
      from,
      '--until',
      nowSec(),
      '--filter',
      `container=${name}`,
      '--format',
      '{{json .}}',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const evs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DockerEvent);
    expect(evs.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(evs.every((e) => e.Type === 'container' && /^[0-9a-f]{64}$/.test(e.id))).toBe(true);
    expect(evs[2].Actor.Attributes).toMatchObject({ name, image: IMAGE, exitCode: '4' });
    const text = docker(svc, w, [
      'events',
      '--since',
      from,
      '--until',
      nowSec(),
      '--filter',
      `container=${name}`,
      '--filter',
      'event=die',
    ]);
    expect(text.stdout.trim()).toMatch(
      new RegExp(`container die [0-9a-f]{64} \\(exitCode=4, image=${IMAGE}, name=${name}\\)$`),
    );
  });
});
