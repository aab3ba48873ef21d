/**
 * --rm belongs to the container's monitor: honoured for `run -d --rm`, `create --rm` + `start`,
 * a command that fails to start, and an attached `moat run --rm` whose CLI is killed (the
 * container lives on under its monitor, its exit recorded, then it is removed). Signals sent to
 * an attached `moat run` reach the container.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { bin, env, IMAGE, moat, uniq } from './moat.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function names(): Promise<string[]> {
  const r = await moat(['ps', '-a', '--format', 'json']);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { Names: string }[]).map((c) => c.Names);
}

/** Poll until `fn` holds (or the time is up); returns whether it did. */
async function until(fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(100);
  }
  return fn();
}

const containerDir = (id: string) => path.join(inject('moatEnv').XDG_DATA_HOME, 'moat/containers', id);

describe('--rm is done by the monitor', () => {
  it('run -d --rm: the container is removed when it exits', async () => {
    const name = uniq('drm');
    const r = await moat(['run', '-d', '--rm', '--name', name, IMAGE, 'sh', '-c', 'sleep 3; exit 3']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(await names()).toContain(name);
    // wait reports the status even though the container is gone by the time it looks again
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('3');
    expect(await until(async () => !(await names()).includes(name))).toBe(true);
    expect(existsSync(containerDir(id))).toBe(false);
  });

  it('run -d --rm of a command that cannot start: 127, and nothing is left', async () => {
    const name = uniq('drm-bad');
    const r = await moat(['run', '-d', '--rm', '--name', name, IMAGE, 'no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/no-such-command/);
    expect(await until(async () => !(await names()).includes(name))).toBe(true);
  });

  it('create --rm, then start: removed when it exits', async () => {
    const name = uniq('crm');
    const c = await moat(['create', '--rm', '--name', name, IMAGE, 'sh', '-c', 'exit 4']);
    expect(c.code, c.stderr).toBe(0);
    expect((await moat(['start', name])).code).toBe(0);
    expect(await until(async () => !(await names()).includes(name))).toBe(true);
  });

  it('an attached run --rm whose CLI is SIGKILLed: the container runs on, logs, and is removed at its end', async () => {
    const name = uniq('killed-cli');
    const cli = spawn(
      process.execPath,
      [
        bin(),
        'run',
        '--rm',
        '--name',
        name,
        IMAGE,
        'sh',
        '-c',
        'echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second; exit 5',
      ],
      { env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    cli.stdout.on('data', (b: Buffer) => (out += b.toString()));
    expect(await until(() => out.includes('first'))).toBe(true);
    const exited = new Promise((r) => cli.once('close', r));
    cli.kill('SIGKILL');
    await exited;
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as { id: string; status: string }[];
    expect(insp[0].status).toBe('running');
    const id = insp[0].id;
    // Still supervised: what it writes now reaches its log.
    expect((await moat(['exec', name, 'touch', '/tmp/go'])).code).toBe(0);
    const log = path.join(containerDir(id), 'container.log');
    const seen = await until(() => {
      try {
        return readFileSync(log, 'utf8').includes('second');
      } catch {
        return true; // already removed: the exit was recorded below
      }
    });
    expect(seen).toBe(true);
    expect(await until(async () => !(await names()).includes(name))).toBe(true);
    expect(existsSync(containerDir(id))).toBe(false);
  });

  it('without --rm, a killed CLI leaves the exit status recorded (not 255)', async () => {
    const name = uniq('killed-cli-keep');
    const cli = spawn(
      process.execPath,
      [bin(), 'run', '--name', name, IMAGE, 'sh', '-c', 'sleep 2; exit 6'],
      {
        env: env(),
        stdio: 'ignore',
      },
    );
    // Killed once the container runs (killed before, it would stay created, as with docker).
    const running = async () => {
      const r = await moat(['inspect', name]);
      return r.code === 0 && (JSON.parse(r.stdout) as { status: string }[])[0].status === 'running';
    };
    expect(await until(running)).toBe(true);
    cli.kill('SIGKILL');
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('6');
    expect((await moat(['rm', name])).code).toBe(0);
  });
});

describe('signals to an attached moat run', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} reaches the container; its status and --rm follow`, async () => {
      const name = uniq(`sig-${sig.toLowerCase()}`);
      const cli = spawn(
        process.execPath,
        [
          bin(),
          'run',
          '--rm',
          '--name',
          name,
          IMAGE,
          'sh',
          '-c',
          'trap "echo caught; exit 7" TERM INT; echo ready; while :; do sleep 0.1; done',
        ],
        { env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      cli.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const code = new Promise<number | null>((r) => cli.once('close', (c) => r(c)));
      expect(await until(() => out.includes('ready'))).toBe(true);
      cli.kill(sig);
      expect(await code).toBe(7);
      expect(out).toContain('caught');
      expect(await names()).not.toContain(name);
    });
  }

  it('-i passes stdin through the monitor', async () => {
    const r = await moat(['run', '--rm', '-i', IMAGE, 'sh', '-c', 'cat; echo end'], { input: 'one\ntwo\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('one\ntwo\nend\n');
  });
});
