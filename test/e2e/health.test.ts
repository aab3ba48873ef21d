/**
 * Health checks (issue #15): --health-* run by the container's monitor through exec; healthy, then
 * unhealthy after --health-retries failures, seen in ps, inspect and the events; --health-on-failure
 * kill hands an unhealthy container to its restart policy; docker run --health-cmd via the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { mainWorld, type World } from './registry-helpers.js';

interface Inspected {
  status: string;
  health?: { status: string; failingStreak: number; log: { exitCode: number }[] };
  restartCount?: number;
}

async function inspect(name: string): Promise<Inspected> {
  const r = await moat(['inspect', name]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Inspected[])[0];
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const check = [
  '--tmpfs',
  '/tmp',
  '--health-cmd',
  'test -f /tmp/ok',
  '--health-interval',
  '300ms',
  '--health-retries',
  '2',
];

describe('health checks', () => {
  it('healthy while the check passes, unhealthy after two failures; ps, inspect and events say so', async () => {
    const name = uniq('hc');
    const from = (Date.now() / 1000 - 1).toFixed(3);
    const r = await moat([
      'run',
      '-d',
      ...check,
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'touch /tmp/ok; sleep 100',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await until(
      'healthy',
      () => inspect(name),
      (c) => c.health?.status === 'healthy',
    );
    expect((await moat(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(
      /^Up .* \(healthy\)$/m,
    );
    expect((await moat(['exec', name, 'rm', '/tmp/ok'])).code).toBe(0);
    const bad = await until(
      'unhealthy',
      () => inspect(name),
      (c) => c.health?.status === 'unhealthy',
    );
    expect(bad.health!.failingStreak).toBeGreaterThanOrEqual(2);
    expect(bad.health!.log.at(-1)!.exitCode).toBe(1);
    expect((await moat(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(
      /\(unhealthy\)$/m,
    );
    const byHealth = async (h: string) =>
      (await moat(['ps', '--filter', `name=${name}`, '--filter', `health=${h}`, '-q'])).stdout.trim().length >
      0;
    expect([await byHealth('unhealthy'), await byHealth('healthy'), await byHealth('none')]).toEqual([
      true,
      false,
      false,
    ]);
    const ev = await moat([
      'events',
      '--since',
      from,
      '--until',
      (Date.now() / 1000).toFixed(3),
      '--filter',
      `container=${name}`,
      '--filter',
      'event=health_status',
    ]);
    expect(
      ev.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ').slice(2, 4).join(' ')),
    ).toEqual(['health_status: healthy', 'health_status: unhealthy']);
    await moat(['rm', '-f', name]);
  });

  it('--health-on-failure kill: an unhealthy container is killed and its restart policy runs it again', async () => {
    const name = uniq('hc');
    const r = await moat([
      'run',
      '-d',
      ...check,
      '--health-on-failure',
      'kill',
      '--restart',
      'on-failure:1',
      '--name',
      name,
      IMAGE,
      'sleep',
      '100',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const c = await until(
      'a restart',
      () => inspect(name),
      (x) => (x.restartCount ?? 0) >= 1,
    );
    expect(c.restartCount).toBe(1);
    await moat(['rm', '-f', name]);
  });

  it('--no-healthcheck and bad values', async () => {
    const name = uniq('hc');
    expect((await moat(['run', '-d', '--no-healthcheck', '--name', name, IMAGE, 'sleep', '100'])).code).toBe(
      0,
    );
    expect((await inspect(name)).health).toBeUndefined();
    await moat(['rm', '-f', name]);
    const bad = await moat(['run', '--health-cmd', 'true', '--health-interval', '30', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --health-interval "30" \[RUNTIME_INVALID_OPTION\]/);
  });
});

describe('docker run --health-cmd through the service', () => {
  let w: World;
  let svc: Service;
  beforeAll(async () => {
    w = mainWorld('health');
    svc = await startService(w);
  });
  afterAll(async () => {
    if (svc) await stopService(svc);
  });

  it('State.Health in docker inspect', async () => {
    const name = uniq('dhc');
    const r = docker(svc, w, [
      'run',
      '-d',
      '--health-cmd',
      'true',
      '--health-interval',
      '300ms',
      '--name',
      name,
      IMAGE,
      'sleep',
      '100',
    ]);
    expect(r.code, r.stderr).toBe(0);
    let out = '';
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      out = docker(svc, w, [
        'inspect',
        '-f',
        '{{.State.Health.Status}} {{(index .State.Health.Log 0).ExitCode}}',
        name,
      ]).stdout.trim();
      if (out.startsWith('healthy')) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(out).toBe('healthy 0');
    expect(docker(svc, w, ['ps', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout).toMatch(
      /\(healthy\)/,
    );
    const byHealth = (h: string) =>
      docker(svc, w, ['ps', '--filter', `name=${name}`, '--filter', `health=${h}`, '--format', '{{.Names}}'])
        .stdout;
    expect([byHealth('healthy'), byHealth('unhealthy'), byHealth('none')]).toEqual([`${name}\n`, '', '']);
    expect(docker(svc, w, ['rm', '-f', name]).code).toBe(0);
  });
});
