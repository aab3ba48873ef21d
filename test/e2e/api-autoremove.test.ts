/**
 * `docker run --rm` (HostConfig.AutoRemove) against `moat system service` (issue 9, items 2-4):
 * the removal is the container monitor's, so it happens when the command cannot start (127/126,
 * no hang), for `-d`, and when the service that started the container is gone; a memory limit
 * too small to start with is refused at once.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;

beforeAll(async () => {
  w = mainWorld('api-rm');
  svc = await startService(w, {}, 'api-rm.sock');
});
afterAll(async () => {
  if (svc) await stopService(svc);
});

/** The docker CLI against the service, killed after `timeoutMs` (a hang fails the test). */
function docker(
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, {
      env: { ...w.env, DOCKER_HOST: `unix://${svc.socket}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** Names of every container in the store, asked through the moat CLI. */
async function names(): Promise<string[]> {
  const r = await w.moat(['ps', '-a', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { Names: string }[]).map((c) => c.Names);
}

async function gone(name: string, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200)))
    if (!(await names()).includes(name)) return true;
  return false;
}

describe('docker run --rm through moat system service', () => {
  it('a command that does not exist: 127, the error, no hang, nothing left', async () => {
    const name = uniq('api-rm-nx');
    const r = await docker(['run', '--rm', '--name', name, IMAGE, 'no-such-command']);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/no-such-command/);
    expect(await gone(name, 5_000)).toBe(true);
  });

  it('a file that cannot be executed: 126, no hang, nothing left', async () => {
    const name = uniq('api-rm-nox');
    const r = await docker(['run', '--rm', '--name', name, IMAGE, '/etc/passwd']);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(126);
    expect(await gone(name, 5_000)).toBe(true);
  });

  it('-m 1 is refused at once with the minimum named; nothing is created', async () => {
    const name = uniq('api-rm-m1');
    const r = await docker(['run', '--rm', '-m', '1', '--name', name, IMAGE, 'true']);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/minimum of 6 MiB/);
    expect(await names()).not.toContain(name);
  });

  it('-d --rm: removed when it exits', async () => {
    const name = uniq('api-rm-d');
    const r = await docker(['run', '-d', '--rm', '--name', name, IMAGE, 'sh', '-c', 'sleep 1']);
    expect(r.code, r.stderr).toBe(0);
    expect(await gone(name)).toBe(true);
  });

  it('the service that started it is killed: the container is still removed when it exits', async () => {
    const name = uniq('api-rm-orphan');
    const r = await docker(['run', '-d', '--rm', '--name', name, IMAGE, 'sh', '-c', 'sleep 3']);
    expect(r.code, r.stderr).toBe(0);
    const exited = new Promise((res) => svc.proc.once('exit', res));
    svc.proc.kill('SIGKILL');
    await exited;
    expect(await names()).toContain(name);
    expect(await gone(name)).toBe(true);
    svc = await startService(w, {}, 'api-rm-2.sock');
  });

  it('an attached docker run --rm gets all its output and the status', async () => {
    const name = uniq('api-rm-out');
    const r = await docker([
      'run',
      '--rm',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'for i in 1 2 3; do echo line $i; done; echo last >&2; exit 9',
    ]);
    expect(r.code).toBe(9);
    expect(r.stdout).toBe('line 1\nline 2\nline 3\n');
    expect(r.stderr).toBe('last\n');
    expect(await gone(name, 5_000)).toBe(true);
  });
});
