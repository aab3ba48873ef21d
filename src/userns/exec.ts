import { spawn, type SpawnOptions } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import type { IdMaps } from './idmap.js';
import { unshareMapArgs } from './idmap.js';
import { UsernsError } from './errors.js';

/** How to enter moat's user namespace: a fresh one (unshare) or a container's (nsenter). */
export interface UsernsTools {
  unshare: string;
  nsenter: string;
  callerUid: number;
  maps: IdMaps;
}

/** argv for running `cmd` in a new user namespace (and, if asked, a new private mount namespace). */
export function unshareArgv(t: UsernsTools, cmd: string[], opts: { mount?: boolean } = {}): string[] {
  return [
    t.unshare,
    '--user',
    ...(opts.mount ? ['--mount', '--propagation', 'private'] : []),
    ...unshareMapArgs(t.maps, t.callerUid),
    '--',
    ...cmd,
  ];
}

/** argv for running `cmd` inside the user namespace of a running process (a container's init). */
export function nsenterArgv(t: UsernsTools, pid: number, cmd: string[]): string[] {
  // An unprivileged caller keeps its IDs (it is container root already). Root must become the
  // namespace's root (nsenter's setuid(0) there), or it would act as the unmapped overflow user.
  return [
    t.nsenter,
    `--user=/proc/${pid}/ns/user`,
    ...(t.callerUid === 0 ? [] : ['--preserve-credentials']),
    '--',
    ...cmd,
  ];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, collecting its output. */
export function runCollect(argv: string[], opts: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

export type Pump = (write: (b: Buffer | string) => Promise<void>) => Promise<void>;

/** A child started now whose stdin is fed later (see startPumped). */
export interface PumpedChild {
  /** Feed stdin with `pump` and collect the result; call once. */
  run(pump: Pump): Promise<RunResult>;
  /** Not needed after all: kill it. */
  cancel(): void;
}

/**
 * Start a child whose stdin will be fed by a `pump` (with backpressure: it awaits `write`), so
 * its start-up overlaps whatever the caller does before it has data. If the pump fails, the
 * child is killed and the pump's error is thrown; if the child exits before reading everything,
 * `write` rejects and the child's result is returned.
 */
export function startPumped(argv: string[], opts: SpawnOptions = {}): PumpedChild {
  const child = spawn(argv[0], argv.slice(1), { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let closed = false;
  let pumpError: { e: unknown } | undefined;
  const stdin = child.stdin!;
  stdin.on('error', () => {});
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  let spawnError: { e: unknown } | undefined;
  child.on('error', (e) => (spawnError ??= { e }));
  const result = new Promise<RunResult>((resolve, reject) =>
    child.on('close', (code, signal) => {
      closed = true;
      if (spawnError) return reject(spawnError.e);
      if (pumpError) return reject(pumpError.e);
      resolve({
        code: code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    }),
  );
  result.catch(() => {});
  const stopped = () => new Error('the child stopped reading');
  const write = (b: Buffer | string): Promise<void> => {
    if (closed || stdin.destroyed) return Promise.reject(stopped());
    if (stdin.write(b)) return Promise.resolve();
    return Promise.race([
      new Promise<void>((r) => stdin.once('drain', () => r())),
      result.then(
        () => Promise.reject(stopped()),
        () => Promise.reject(stopped()),
      ),
    ]);
  };
  return {
    run(pump: Pump): Promise<RunResult> {
      pump(write).then(
        () => stdin.end(),
        (e: unknown) => {
          if (closed) return; // the child ended first: its own result says why
          pumpError = { e };
          child.kill('SIGKILL');
        },
      );
      return result;
    },
    cancel(): void {
      if (!closed) child.kill('SIGKILL');
    },
  };
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGABRT: 6,
  SIGSEGV: 11,
};
export function signalNumber(sig: string): number | undefined {
  return SIGNALS[sig];
}

/** Run a command inside a fresh user namespace with moat's mapping; throw USERNS_SETUP_FAILED on failure. */
export async function runInUserns(
  t: UsernsTools,
  cmd: string[],
  opts: { input?: string; what: string; mount?: boolean },
): Promise<RunResult> {
  const r = await runCollect(unshareArgv(t, cmd, { mount: opts.mount }), { input: opts.input });
  return checkUsernsRun(r, opts.what);
}

/** A run through `unshare` that failed to set up the namespace becomes USERNS_SETUP_FAILED. */
export function checkUsernsRun(r: RunResult, what: string): RunResult {
  if (r.code !== 0 && /newuidmap|newgidmap|uid_map|gid_map|unshare failed/.test(r.stderr)) {
    throw new UsernsError(
      'USERNS_SETUP_FAILED',
      `could not create a user namespace to ${what}: ${r.stderr.trim()}`,
      {
        hint: 'check `moat info`: newuidmap/newgidmap (package uidmap) and ranges in /etc/subuid and /etc/subgid',
      },
    );
  }
  return r;
}

/** Remove a tree whose files belong to subordinate IDs (only root of the namespace can). */
export async function removeTreeInUserns(t: UsernsTools, dir: string): Promise<void> {
  if (t.callerUid === 0) {
    // Root may remove anything; no namespace needed.
    await fsp.rm(dir, { recursive: true, force: true });
    return;
  }
  const r = await runInUserns(t, ['rm', '-rf', '--one-file-system', '--', dir], { what: `remove ${dir}` });
  if (r.code !== 0) {
    throw new UsernsError('USERNS_SETUP_FAILED', `could not remove ${dir}: ${r.stderr.trim()}`);
  }
}
