/** Run the built moat CLI as the current user, in the e2e suite's private store. */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { inject } from 'vitest';

export const IMAGE = 'moat/busybox';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function env(): NodeJS.ProcessEnv {
  const e = inject('moatEnv');
  return { ...process.env, XDG_DATA_HOME: e.XDG_DATA_HOME, XDG_RUNTIME_DIR: e.XDG_RUNTIME_DIR };
}

export function bin(): string {
  return path.join(inject('moatEnv').root, 'bin/moat.js');
}

export function moat(
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin(), ...args], {
      env: opts.env ?? env(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function moatSync(args: string[]): Result {
  const r = spawnSync(process.execPath, [bin(), ...args], { env: env(), encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Run a shell snippet in a fresh container of the default image; returns the result. */
export function sh(script: string, flags: string[] = []): Promise<Result> {
  return moat(['run', '--rm', ...flags, IMAGE, 'sh', '-c', script]);
}

export function uniq(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
