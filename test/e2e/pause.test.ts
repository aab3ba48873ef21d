/**
 * Issue 15: moat pause / unpause and docker pause / unpause against the service. Where a freezer
 * cgroup is delegated to the test user (moat info: cgroups.delegated.freezer), a counting
 * container stops counting while paused and goes on after; ps and inspect say Paused; exec is
 * refused; kill, stop and rm -f still end it. Where none is, pause is refused with
 * RUNTIME_PAUSE_UNSUPPORTED naming what is missing (and nothing changes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
/** Whether this host delegates a freezer cgroup to the test user (which tests apply). */
const freezer = Boolean(
  (
    JSON.parse((await moat(['info', '--format', 'json'])).stdout) as {
      cgroups: { delegated: Record<string, string> };
    }
  ).cgroups.delegated.freezer,
);
const names: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `moat run -d --name NAME ...args` (a fresh name, removed after the file); its name. */
async function detached(prefix: string, args: string[]): Promise<string> {
  const name = uniq(prefix);
  names.push(name);
  const r = await moat(['run', '-d', '--name', name, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

/** A container that prints a line every 50 ms. */
const counter = () =>
  detached('pause', [IMAGE, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
const lines = async (name: string) => (await moat(['logs', name])).stdout.split('\n').filter(Boolean).length;

beforeAll(async () => {
  w = mainWorld('pause');
  svc = await startService(w);
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (svc) await stopService(svc);
});

describe.runIf(freezer)('with a freezer cgroup delegated', () => {
  it('moat pause freezes every process: no output while paused; ps, inspect and docker ps say so', async () => {
    const name = await counter();
    await sleep(300);
    const p = await moat(['pause', name]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe(`${name}\n`);
    const before = await lines(name);
    await sleep(600);
    expect(await lines(name)).toBe(before);
    expect((await moat(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(
      /^Up .* \(Paused\)\n$/,
    );
    const state = JSON.parse((await moat(['inspect', name])).stdout)[0].State;
    expect([state.Status, state.Running, state.Paused]).toEqual(['paused', true, true]);
    expect(
      docker(svc, w, ['ps', '--filter', 'status=paused', '--format', '{{.Names}} {{.State}}']).stdout,
    ).toContain(`${name} paused`);
    const again = await moat(['pause', name]);
    expect(again.stderr).toMatch(/already paused \[RUNTIME_INVALID_STATE\]/);
    const ex = await moat(['exec', name, 'true']);
    expect(ex.code).toBe(1);
    expect(ex.stderr).toMatch(/is paused \[RUNTIME_INVALID_STATE\]/);
    const u = await moat(['unpause', name]);
    expect(u.code, u.stderr).toBe(0);
    await sleep(400);
    expect(await lines(name)).toBeGreaterThan(before);
    expect(JSON.parse((await moat(['inspect', name])).stdout)[0].State.Status).toBe('running');
    const not = await moat(['unpause', name]);
    expect(not.stderr).toMatch(/is not paused \[RUNTIME_INVALID_STATE\]/);
  });

  it('docker pause / unpause through the service', async () => {
    const name = await counter();
    expect(docker(svc, w, ['pause', name])).toMatchObject({ code: 0, stdout: `${name}\n` });
    expect(docker(svc, w, ['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', name]).stdout).toBe(
      'paused true\n',
    );
    const before = await lines(name);
    await sleep(500);
    expect(await lines(name)).toBe(before);
    expect(docker(svc, w, ['unpause', name])).toMatchObject({ code: 0, stdout: `${name}\n` });
    await sleep(400);
    expect(await lines(name)).toBeGreaterThan(before);
  });

  it('commit freezes a running container while its layer is read (docker commit does), --no-pause does not', async () => {
    const name = await counter();
    const pauses = async (from: string) =>
      (
        await moat([
          'events',
          '--since',
          from,
          '--until',
          (Date.now() / 1000 + 1).toFixed(3),
          '--filter',
          `container=${name}`,
          '--filter',
          'event=pause',
          '--filter',
          'event=unpause',
        ])
      ).stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[2]);
    let from = (Date.now() / 1000 - 0.5).toFixed(3);
    const images: string[] = [];
    const c = await moat(['commit', name]);
    expect(c.code, c.stderr).toBe(0);
    images.push(c.stdout.trim());
    expect(await pauses(from)).toEqual(['pause', 'unpause']);
    expect(JSON.parse((await moat(['inspect', name])).stdout)[0].State.Status).toBe('running');
    await sleep(1100);
    from = (Date.now() / 1000 - 0.5).toFixed(3);
    const live = await moat(['commit', '--no-pause', name]);
    expect(live.code, live.stderr).toBe(0);
    images.push(live.stdout.trim());
    const viaDocker = docker(svc, w, ['commit', name]);
    expect(viaDocker.code, viaDocker.stderr).toBe(0);
    images.push(viaDocker.stdout.trim());
    expect(await pauses(from)).toEqual(['pause', 'unpause']); // docker's, not --no-pause's
    const before = await lines(name);
    await sleep(400);
    expect(await lines(name)).toBeGreaterThan(before); // thawed
    await moat(['rmi', ...images]);
  });

  it('no health check runs while a container is paused: it stays healthy', async () => {
    const name = await detached('pause-hc', [
      '--health-cmd',
      'true',
      '--health-interval',
      '200ms',
      '--health-retries',
      '1',
      '--health-on-failure',
      'kill',
      IMAGE,
      'sleep',
      '300',
    ]);
    const health = async () =>
      JSON.parse((await moat(['inspect', name])).stdout)[0].State.Health as {
        Status: string;
        Log: { Start: string }[];
      };
    for (let i = 0; i < 100 && (await health()).Status !== 'healthy'; i++) await sleep(100);
    expect((await moat(['pause', name])).code).toBe(0);
    const pausedAt = Date.now();
    await sleep(1500);
    const h = await health();
    expect(h.Status).toBe('healthy');
    // no check started after the pause (one already running may finish just after it)
    expect(h.Log.filter((l) => Date.parse(l.Start) > pausedAt + 100)).toEqual([]);
    expect((await moat(['unpause', name])).code).toBe(0);
    expect(JSON.parse((await moat(['inspect', name])).stdout)[0].State.Status).toBe('running');
  });

  it('a paused container is still ended by kill, stop (after its timeout) and rm -f', async () => {
    const [a, b, c] = [await counter(), await counter(), await counter()];
    for (const n of [a, b, c]) expect((await moat(['pause', n])).code).toBe(0);
    expect((await moat(['kill', a])).code).toBe(0);
    const t0 = Date.now();
    expect((await moat(['stop', '-t', '1', b])).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    for (const n of [a, b]) {
      const st = JSON.parse((await moat(['inspect', n])).stdout)[0].State;
      expect([st.Status, st.Paused, st.ExitCode], n).toEqual(['exited', false, 137]);
    }
    expect((await moat(['rm', '-f', c])).code).toBe(0);
    expect((await moat(['inspect', c])).code).toBe(1);
  });
});

describe.runIf(!freezer)('without a freezer cgroup', () => {
  it('moat pause and docker pause are refused, naming the freezer; the container runs on', async () => {
    const name = await counter();
    const r = await moat(['pause', name]);
    expect(r.code).toBe(125); // moat cannot do it here, as for a limit the host cannot enforce
    expect(r.stderr).toMatch(/cannot pause .*freezer.* \[RUNTIME_PAUSE_UNSUPPORTED\]/);
    expect(r.stderr).toMatch(/hint: .*freezer/);
    const d = docker(svc, w, ['pause', name]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/cannot pause .*freezer/);
    const before = await lines(name);
    await sleep(400);
    expect(await lines(name)).toBeGreaterThan(before);
    expect((await moat(['unpause', name])).stderr).toMatch(/is not paused/);
  });
});

describe('either way', () => {
  it('a container that is not running cannot be paused; an unknown one is not found', async () => {
    const name = uniq('pause-created');
    names.push(name);
    expect((await moat(['create', '--name', name, IMAGE, 'true'])).code).toBe(0);
    expect((await moat(['pause', name])).stderr).toMatch(/is not running \[RUNTIME_INVALID_STATE\]/);
    expect((await moat(['pause', 'no-such-container-here'])).stderr).toMatch(
      /\[RUNTIME_CONTAINER_NOT_FOUND\]/,
    );
  });
});
