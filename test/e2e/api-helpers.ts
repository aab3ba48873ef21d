/** Driving `moat system service` in the e2e tests: start and stop it, the docker CLI, raw HTTP. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import { bin } from './moat.js';
import type { World } from './registry-helpers.js';

export interface Service {
  socket: string;
  proc: ChildProcess;
  log: () => string;
}

export async function startService(
  w: World,
  extraEnv: NodeJS.ProcessEnv = {},
  name = 'api.sock',
): Promise<Service> {
  const socket = path.join(w.env.HOME!, name);
  let log = '';
  const proc = spawn(process.execPath, [bin(), 'system', 'service', '--socket', socket], {
    env: { ...w.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(socket)) throw new Error(`the service did not start: ${log}`);
  return { socket, proc, log: () => log };
}

export async function stopService(s: Service): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
}

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function docker(s: Service, w: World, args: string[]): DockerResult {
  const r = spawnSync('docker', args, {
    env: { ...w.env, DOCKER_HOST: `unix://${s.socket}` },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** A shell pipeline with DOCKER_HOST set to the service (`docker logs x | head -1`). */
export function dockerSh(s: Service, w: World, script: string): DockerResult {
  const r = spawnSync('sh', ['-c', script], {
    env: { ...w.env, DOCKER_HOST: `unix://${s.socket}` },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** One raw HTTP request over the socket; the body as text. */
export function http(
  s: Service,
  method: string,
  p: string,
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      // A connection of its own (agent: false): Node 20's global agent keeps connections alive,
      // and reusing one the service has just closed fails the request with EPIPE (seen in CI).
      {
        socketPath: s.socket,
        method,
        path: p,
        headers: { 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The service still answers, and its process is alive. */
export async function answering(s: Service): Promise<void> {
  if (s.proc.exitCode !== null) throw new Error(`the service exited: ${s.log().slice(-2000)}`);
  const ping = await http(s, 'GET', '/_ping');
  if (ping.body !== 'OK') throw new Error(`the service answered ${ping.status} ${ping.body}`);
}
