/**
 * Handing a command to the real runtime (runc): the binary from `--runtime-binary`, else
 * `$MOAT_RUNTIME`, else `runc` on PATH, with the caller's stdio (and `--preserve-fds` fds) as
 * its own, the caller's signals forwarded while it runs, and its exit status as ours.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { OciError } from './errors.js';

/** Set for the runtime we start: a runtime that is moat-runtime again would loop forever. */
export const NESTED_ENV = 'MOAT_RUNTIME_NESTED';

export function runtimeBinary(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.MOAT_RUNTIME || 'runc';
}

const FORWARDED: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];

/** Run the runtime with `args`; resolves to its exit status (128 + N when killed by signal N). */
export function runRuntime(binary: string, args: string[], preserveFds = 0): Promise<number> {
  const extra = Array.from({ length: Math.min(Math.max(preserveFds, 0), 1024) }, (_, i) => i + 3);
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit', ...extra];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio, env: { ...process.env, [NESTED_ENV]: '1' } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const s of FORWARDED) process.on(s, forward);
    const done = () => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(
        new OciError('OCI_RUNTIME_MISSING', `cannot run the OCI runtime ${binary}: ${e.message}`, {
          cause: e,
        }),
      );
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
