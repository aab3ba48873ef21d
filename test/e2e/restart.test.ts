/**
 * Restart policies (issue #15): the monitor runs a container again with back-off, stops at
 * on-failure's count, never after moat stop; the events show it; docker run --restart through the
 * service; moat generate systemd for what survives a reboot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { mainWorld, type World } from './registry-helpers.js';

interface Inspected {
  status: string;
  restartCount?: number;
  restarting?: boolean;
  exitCode?: number;
}

async function inspect(name: string): Promise<Inspected> {
  const r = await moat(['inspect', name]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Inspected[])[0];
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('restart policies', () => {
  it('on-failure:2 runs a failing container twice more, then leaves it exited', async () => {
    const name = uniq('rs');
    const from = (Date.now() / 1000 - 1).toFixed(3);
    expect(
      (await moat(['run', '-d', '--restart', 'on-failure:2', '--name', name, IMAGE, 'sh', '-c', 'exit 3']))
        .code,
    ).toBe(0);
    const done = await until(
      'two restarts',
      () => inspect(name),
      (c) => c.restartCount === 2 && c.status === 'exited' && !c.restarting,
    );
    expect(done.exitCode).toBe(3);
    // and no third one
    await new Promise((r) => setTimeout(r, 1500));
    expect((await inspect(name)).restartCount).toBe(2);
    const ev = await moat([
      'events',
      '--since',
      from,
      '--until',
      (Date.now() / 1000).toFixed(3),
      '--filter',
      `container=${name}`,
    ]);
    expect(
      ev.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[2]),
    ).toEqual(['create', 'start', 'die', 'restart', 'start', 'die', 'restart', 'start', 'die']);
    expect((await moat(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(
      /^Exited \(3\)/,
    );
    await moat(['rm', name]);
  });

  it('on-failure does not restart a success; always does, until moat stop', async () => {
    const ok = uniq('rs');
    expect((await moat(['run', '-d', '--restart', 'on-failure', '--name', ok, IMAGE, 'true'])).code).toBe(0);
    await until(
      'exit',
      () => inspect(ok),
      (c) => c.status === 'exited',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inspect(ok)).restartCount ?? 0).toBe(0);
    await moat(['rm', ok]);

    const name = uniq('rs');
    expect(
      (await moat(['run', '-d', '--restart', 'always', '--name', name, IMAGE, 'sh', '-c', 'sleep 0.3'])).code,
    ).toBe(0);
    await until(
      'a restart',
      () => inspect(name),
      (c) => (c.restartCount ?? 0) >= 1,
    );
    expect((await moat(['stop', '-t', '1', name])).code).toBe(0);
    const stopped = await until(
      'stopped',
      () => inspect(name),
      (c) => c.status === 'exited' && !c.restarting,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const later = await inspect(name);
    expect(later.status).toBe('exited');
    expect(later.restartCount).toBe(stopped.restartCount);
    // A start by hand begins again: the count too.
    expect((await moat(['start', name])).code).toBe(0);
    await until(
      'running again',
      () => inspect(name),
      (c) => c.status === 'running' || (c.restartCount ?? 0) >= 1,
    );
    await moat(['rm', '-f', name]);
  });

  it('--restart with --rm, and an unknown policy, are refused', async () => {
    const both = await moat(['run', '--rm', '--restart', 'always', IMAGE, 'true']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/conflicting options: --restart and --rm/);
    const bad = await moat(['run', '--restart', 'sometimes', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /invalid --restart "sometimes": not a restart policy \[RUNTIME_INVALID_OPTION\]/,
    );
  });

  it('moat generate systemd writes a unit that starts it attached', async () => {
    const name = uniq('rs');
    expect((await moat(['create', '--restart', 'unless-stopped', '--name', name, IMAGE, 'true'])).code).toBe(
      0,
    );
    const g = await moat(['generate', 'systemd', name]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toMatch(new RegExp(`^ExecStart=\\S+ \\S+moat\\.js start -a ${name}$`, 'm'));
    expect(g.stdout).toMatch(/^Restart=always$/m);
    await moat(['rm', name]);
  });
});

describe('docker run --restart through the service', () => {
  let w: World;
  let svc: Service;
  beforeAll(async () => {
    w = mainWorld('restart');
    svc = await startService(w);
  });
  afterAll(async () => {
    if (svc) await stopService(svc);
  });

  it('on-failure:1: restarted once, RestartPolicy and RestartCount in docker inspect', async () => {
    const name = uniq('drs');
    expect(
      docker(svc, w, ['run', '-d', '--restart', 'on-failure:1', '--name', name, IMAGE, 'sh', '-c', 'exit 2'])
        .code,
    ).toBe(0);
    const end = Date.now() + 20_000;
    let out = '';
    while (Date.now() < end) {
      out = docker(svc, w, [
        'inspect',
        '-f',
        '{{.RestartCount}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}',
        name,
      ]).stdout.trim();
      if (out.startsWith('1 exited')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toBe('1 exited on-failure 1');
    expect(docker(svc, w, ['rm', name]).code).toBe(0);
  });
});
