/**
 * Issue 9, item 14: `docker stats` against `moat system service` shows the container's real use
 * (it printed a row of `--` and exited 0), decided by the policy as `container.stats`; and a
 * container binds ports below 1024 as a non-root user in its own network namespace, as under
 * Docker (`net.ipv4.ip_unprivileged_port_start=0` there, the host's setting untouched).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answering, docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
const limited = uniq('stats-64m');
const plain = uniq('stats-plain');
const stopped = uniq('stats-stopped');
const FORMAT = '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}|{{.NetIO}}|{{.BlockIO}}';
const SIZE = String.raw`[\d.]+(B|KiB|MiB|GiB)`;

beforeAll(async () => {
  w = mainWorld('api-stats');
  svc = await startService(w);
  for (const args of [
    ['run', '-d', '--name', limited, '--memory', '64m', IMAGE, 'sh', '-c', 'sleep 300 & sleep 300 & wait'],
    ['run', '-d', '--name', plain, IMAGE, 'sleep', '300'],
    ['run', '--name', stopped, IMAGE, 'true'],
  ]) {
    const r = docker(svc, w, args);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(async () => {
  if (svc) {
    docker(svc, w, ['rm', '-f', limited, plain, stopped]);
    await stopService(svc);
  }
});

const stats = (...args: string[]) => docker(svc, w, ['stats', '--no-stream', '--format', FORMAT, ...args]);

describe('docker stats --no-stream', () => {
  it('a container with --memory 64m: its memory use over 64MiB, its tasks, CPU %, no "--"', () => {
    const r = stats(limited);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('--');
    expect(r.stdout.trim()).toMatch(
      // NET I/O: loopback only, not counted; BLOCK I/O: what its processes read and wrote (issue 15)
      new RegExp(
        `^${limited}\\|[\\d.]+%\\|${SIZE} / 64MiB\\|[\\d.]+%\\|[1-9]\\d*\\|0B / 0B\\|[\\d.]+[kMG]?B / [\\d.]+[kMG]?B$`,
      ),
    );
    const [, , usage, , pids] = r.stdout.trim().split('|');
    expect(usage).not.toMatch(/^0B/);
    expect(Number(pids)).toBeGreaterThanOrEqual(3); // sh and its two sleeps
  });

  it('without a limit: the resident memory of its processes over the host’s memory', () => {
    const r = stats(plain, limited);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    const row = rows.find((l) => l.startsWith(`${plain}|`))!;
    expect(row).toMatch(new RegExp(`\\|[1-9][\\d.]*(KiB|MiB) / [\\d.]+GiB\\|`));
    expect(row.split('|')[4]).toBe('1');
  });

  it('a stopped container reads as zeros; an unknown one is an error the CLI shows', () => {
    const r = stats(stopped);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${stopped}|0.00%|0B / 0B|0.00%|0|0B / 0B|0B / 0B`);
    const none = stats('no-such-container-here');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no-such-container-here/);
  });

  it('without names: every running container, each with its figures', () => {
    const r = docker(svc, w, ['stats', '--no-stream', '--format', FORMAT]);
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.startsWith(`${limited}|`));
    expect(row).toMatch(new RegExp(`\\|${SIZE} / 64MiB\\|`));
  });
});

describe('the stats stream', () => {
  it('one document a second, each with the previous one as precpu, until the client goes', async () => {
    const docs = await new Promise<Record<string, { cpu_usage: { total_usage: number } }>[]>(
      (resolve, reject) => {
        const got: Record<string, { cpu_usage: { total_usage: number } }>[] = [];
        let buf = '';
        const req = request({ socketPath: svc.socket, path: `/v1.41/containers/${limited}/stats` }, (res) => {
          expect(res.statusCode).toBe(200);
          res.on('data', (b: Buffer) => {
            buf += b.toString();
            for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
              got.push(JSON.parse(buf.slice(0, nl)) as (typeof got)[number]);
              buf = buf.slice(nl + 1);
            }
            if (got.length >= 3) {
              req.destroy();
              resolve(got);
            }
          });
        });
        req.on('error', (e) => (/hang up|ECONNRESET/.test(e.message) ? undefined : reject(e)));
        req.end();
      },
    );
    expect(docs[2].precpu_stats.cpu_usage.total_usage).toBe(docs[1].cpu_stats.cpu_usage.total_usage);
    await answering(svc);
  });

  it('is decided by the policy as container.stats', async () => {
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "no stats here" if input.action == "container.stats"
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'api-stats-policy.sock');
    try {
      const r = docker(s, w, ['stats', '--no-stream', limited]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/container.stats denied by .*no stats here/);
    } finally {
      await stopService(s);
    }
  });
});

describe('ports below 1024', () => {
  it('a non-root container user binds port 80 in the container’s own network namespace', () => {
    const r = docker(svc, w, [
      'run',
      '--rm',
      '-u',
      '1000',
      IMAGE,
      'sh',
      '-c',
      'nc -l -p 80 > /tmp/got & sleep 0.3; echo hello-80 | nc 127.0.0.1 80; sleep 0.2; cat /tmp/got; id -u',
    ]);
    expect(r.stderr).not.toMatch(/Permission denied/);
    expect(r.stdout).toBe('hello-80\n1000\n');
    expect(r.code).toBe(0);
    // The host's own setting is what it was.
    expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).not.toBe('0');
  });
});
