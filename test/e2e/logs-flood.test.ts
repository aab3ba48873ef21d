/**
 * A container that floods its output (issue 11): 100 MB of NUL bytes made a 600 MB log (each
 * byte stored as `\u0000`), and `docker logs --tail 1` through the API read it whole and
 * crashed the service. Now the log is the output as written, kept within max-size × max-file
 * (rotated), `--tail` reads from the end, and the service keeps answering.
 */
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answering, docker, dockerSh, http, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
const MiB = 1024 * 1024;
const made: string[] = [];

beforeAll(async () => {
  w = mainWorld('logs-flood');
  svc = await startService(w);
});
afterAll(async () => {
  if (svc) {
    for (const n of made) docker(svc, w, ['rm', '-f', n]);
    await stopService(svc);
  }
});

/** The log's files of a container and their total size. */
function logFiles(id: string): { names: string[]; total: number } {
  const dir = path.join(w.env.XDG_DATA_HOME!, 'moat', 'containers', id);
  const names = readdirSync(dir)
    .filter((n) => n.startsWith('container.log'))
    .sort();
  return { names, total: names.reduce((t, n) => t + statSync(path.join(dir, n)).size, 0) };
}

/** Run `script` detached with these log options, wait for it; its ID. */
async function flood(name: string, logOpts: string[], script: string): Promise<string> {
  made.push(name);
  const r = await w.moat(['run', '-d', '--name', name, ...logOpts, IMAGE, 'sh', '-c', script], {
    timeoutMs: 120_000,
  });
  expect(r.code, r.stderr).toBe(0);
  const wait = await w.moat(['wait', name], { timeoutMs: 120_000 });
  expect(wait.stdout.trim(), wait.stderr).toBe('0');
  return r.stdout.trim();
}

describe('a container flooding its log', () => {
  it('100 MB of NUL bytes: the log takes what was written and stays within max-size × max-file (defaults 20m × 5)', async () => {
    const name = uniq('flood');
    const id = await flood(name, [], 'head -c 100000000 /dev/zero; echo; echo done');
    // Through the API: the last line at once, and the service still answers.
    const t0 = Date.now();
    const tail = docker(svc, w, ['logs', '--tail', '1', name]);
    const took = Date.now() - t0;
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout).toBe('done\n');
    console.log(`docker logs --tail 1 of a 100 MB log: ${took} ms`);
    await answering(svc);
    const info = await http(svc, 'GET', '/v1.41/info');
    expect(info.status).toBe(200);
    // The line before: NUL bytes and a newline, one 16 KiB record at most (the line cap).
    const two = docker(svc, w, ['logs', '--tail', '2', name]);
    const before = two.stdout.slice(0, -'done\n'.length);
    expect(before.length).toBeGreaterThan(1);
    expect(before.length).toBeLessThanOrEqual(16 * 1024 + 1);
    expect(/^\0+\n$/.test(before)).toBe(true);
    await answering(svc);

    const { names, total } = logFiles(id);
    // Not amplified: 18 bytes a 16 KiB record and 32 a file (the JSON lines took 600 MB).
    expect(total).toBeLessThan(100_000_000 * 1.002 + 5 * 32);
    expect(total).toBeLessThanOrEqual(5 * 20 * MiB);
    expect(names).toEqual([
      'container.log',
      'container.log.1',
      'container.log.2',
      'container.log.3',
      'container.log.4',
    ]);
  }, 180_000);

  it('--log-opt max-size=1m --log-opt max-file=2: the whole log read through the API is at most 2 MiB; the service answers', async () => {
    const name = uniq('flood-small');
    const id = await flood(
      name,
      ['--log-opt', 'max-size=1m', '--log-opt', 'max-file=2'],
      'head -c 20000000 /dev/zero; echo; echo done',
    );
    const { names, total } = logFiles(id);
    expect(names).toEqual(['container.log', 'container.log.1']);
    expect(total).toBeLessThanOrEqual(2 * MiB);
    const all = dockerSh(svc, w, `docker logs ${name} | wc -c`);
    expect(all.code, all.stderr).toBe(0);
    const bytes = Number(all.stdout.trim());
    expect(bytes).toBeGreaterThan(MiB);
    expect(bytes).toBeLessThanOrEqual(2 * MiB);
    expect(docker(svc, w, ['logs', '--tail', '1', name]).stdout).toBe('done\n');
    // inspect shows the log as it is kept, through both front ends.
    const insp = JSON.parse(docker(svc, w, ['inspect', name]).stdout) as {
      HostConfig: { LogConfig: unknown };
    }[];
    expect(insp[0].HostConfig.LogConfig).toEqual({
      Type: 'local',
      Config: { 'max-size': '1m', 'max-file': '2' },
    });
    const own = JSON.parse((await w.moat(['inspect', name])).stdout) as { logConfig: unknown }[];
    expect(own[0].logConfig).toEqual({ type: 'local', maxSize: MiB, maxFile: 2 });
    await answering(svc);
  }, 120_000);

  it('docker create --log-opt applies; other drivers and options are refused with a clear message', async () => {
    const name = uniq('logopt');
    made.push(name);
    const r = docker(svc, w, ['create', '--name', name, '--log-opt', 'max-file=3', IMAGE, 'echo', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    const insp = JSON.parse(docker(svc, w, ['inspect', name]).stdout) as {
      HostConfig: { LogConfig: { Config: Record<string, string> } };
    }[];
    expect(insp[0].HostConfig.LogConfig.Config['max-file']).toBe('3');
    const syslog = docker(svc, w, ['run', '--rm', '--log-driver', 'syslog', IMAGE, 'true']);
    expect(syslog.code).not.toBe(0);
    expect(syslog.stderr).toMatch(/--log-driver syslog is not supported by moat/);
    const compress = await w.moat(['run', '--rm', '--log-opt', 'compress=true', IMAGE, 'true']);
    expect(compress.code).not.toBe(0);
    expect(compress.stderr).toMatch(/--log-opt compress is not supported by moat/);
    await answering(svc);
  });
});
