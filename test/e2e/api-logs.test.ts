/**
 * `docker logs` against `moat system service` (issue 9, item 1): a log of several lines, the
 * --tail forms, a reader that stops early (`| head -1`, a client that closes its connection) —
 * and after each, the service still answers.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answering, docker, dockerSh, http, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
let name: string;
const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `line ${from + i}\n`).join('');

beforeAll(async () => {
  w = mainWorld('api-logs');
  svc = await startService(w);
  name = uniq('logs');
  // As in the issue: made by the moat CLI, read through the docker CLI.
  const r = await w.moat([
    'run',
    '--name',
    name,
    IMAGE,
    'sh',
    '-c',
    // The pause orders the streams in the log: stdout and stderr are separate pipes, read apart.
    'for i in 1 2 3 4 5; do echo line $i; done; sleep 0.3; echo oops >&2',
  ]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  if (svc) {
    docker(svc, w, ['rm', '-f', name]);
    await stopService(svc);
  }
});

describe('docker logs through moat system service', () => {
  it('prints every line of a multi-line log, and the service keeps answering', async () => {
    const r = docker(svc, w, ['logs', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(lines(5));
    expect(r.stderr).toBe('oops\n');
    await answering(svc);
    const ps = docker(svc, w, ['ps', '-a', '--format', '{{.Names}}']);
    expect(ps.code, ps.stderr).toBe(0);
    expect(ps.stdout).toContain(name);
  });

  it('a long log (many frames queued behind a slow socket) arrives whole; the service keeps answering', async () => {
    const long = uniq('logs-long');
    const r = await w.moat(['run', '--name', long, IMAGE, 'sh', '-c', 'seq 1 3000 | sed "s/^/line /"']);
    expect(r.code, r.stderr).toBe(0);
    try {
      for (let round = 0; round < 2; round++) {
        const logs = docker(svc, w, ['logs', long]);
        expect(logs.code, logs.stderr).toBe(0);
        expect(logs.stdout).toBe(lines(3000));
        await answering(svc);
      }
    } finally {
      docker(svc, w, ['rm', '-f', long]);
    }
  });

  it('--tail 0 prints nothing, --tail 2 the last two lines (of both streams), --tail all everything', async () => {
    const none = docker(svc, w, ['logs', '--tail', '0', name]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout + none.stderr).toBe('');
    const two = docker(svc, w, ['logs', '--tail', '2', name]);
    expect(two.stdout).toBe(lines(1, 5)); // the last two lines of both streams: line 5, oops
    expect(two.stderr).toBe('oops\n');
    const all = docker(svc, w, ['logs', '--tail', 'all', name]);
    expect(all.stdout).toBe(lines(5));
    expect(docker(svc, w, ['logs', '-f', '--tail', '1', name]).stderr).toBe('oops\n');
    await answering(svc);
  });

  it('--since and --until choose by time; stdout=0 leaves stdout out', async () => {
    expect(docker(svc, w, ['logs', '--since', '2000-01-01T00:00:00Z', name]).stdout).toBe(lines(5));
    const later = docker(svc, w, ['logs', '--since', '2100-01-01T00:00:00Z', name]);
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout + later.stderr).toBe('');
    expect(docker(svc, w, ['logs', '--until', '2000-01-01T00:00:00Z', name]).stdout).toBe('');
    // Absolute and relative times (a relative --until would depend on how long ago the lines
    // were written: --since 1h holds them all however fast the test runs).
    expect(docker(svc, w, ['logs', '--until', '2100-01-01T00:00:00Z', name]).stdout).toBe(lines(5));
    expect(docker(svc, w, ['logs', '--since', '1h', name]).stdout).toBe(lines(5));
    const errOnly = await http(svc, 'GET', `/v1.41/containers/${name}/logs?stdout=0&stderr=1`);
    expect(errOnly.status).toBe(200);
    expect(errOnly.body).toBe('\u0002\u0000\u0000\u0000\u0000\u0000\u0000\u0005oops\n');
    const neither = await http(svc, 'GET', `/v1.41/containers/${name}/logs`);
    expect(neither.status).toBe(400);
    expect(JSON.parse(neither.body).message).toMatch(/choose at least one stream/);
  });

  it('docker logs | head -1: the reader stops early, the service does not', async () => {
    const r = dockerSh(svc, w, `docker logs ${name} | head -1`);
    expect(r.stdout).toBe('line 1\n');
    await answering(svc);
    expect(docker(svc, w, ['logs', name]).stdout).toBe(lines(5));
  });

  it('a client that closes a followed log of a running container early', async () => {
    const busy = uniq('logs-busy');
    const run = docker(svc, w, [
      'run',
      '-d',
      '--name',
      busy,
      IMAGE,
      'sh',
      '-c',
      'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done',
    ]);
    expect(run.code, run.stderr).toBe(0);
    try {
      for (let round = 0; round < 3; round++) {
        const first = await new Promise<string>((resolve, reject) => {
          const req = request(
            { socketPath: svc.socket, path: `/v1.41/containers/${busy}/logs?follow=1&stdout=1&stderr=1` },
            (res) => {
              res.once('data', (b: Buffer) => {
                req.destroy();
                resolve(b.subarray(8).toString());
              });
            },
          );
          req.on('error', (e) => (/hang up|ECONNRESET/.test(e.message) ? undefined : reject(e)));
          req.end();
        });
        expect(first).toMatch(/^tick \d+/);
        await answering(svc);
      }
      const again = docker(svc, w, ['logs', '--tail', '1', busy]);
      expect(again.stdout).toMatch(/^tick \d+\n$/);
    } finally {
      docker(svc, w, ['rm', '-f', busy]);
    }
    await answering(svc);
  });
});
