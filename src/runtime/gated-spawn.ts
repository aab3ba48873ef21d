/**
 * Starting runc behind its gate, for `run` (the launcher: supervise/start.ts) and `exec` alike.
 * The process is spawned with a pipe on fd 3 and waits there (runc.ts: launcherArgv, gatedArgv)
 * until `release()` lets it go, so that it can first be put into the container's cgroups (and, for
 * a run, recorded). Its stdout and stderr are copied to the client through a StartGate
 * (start-gate.ts): until the command is known to run, what arrives is runc's own and is held.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StartGate } from './start-gate.js';

/** How the process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatedSpawnOptions {
  /** Piped to the process's stdin (none: stdin is /dev/null). */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Sees every chunk as it is read, before the gate (the container's log). */
  tee?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /**
   * A client that reads slowly pauses both pipes together (run: reading on from one alone would
   * put its lines in the log ahead of the other's written before them); otherwise only the pipe
   * it reads from (exec). A client that went away pauses nothing.
   */
  pauseTogether?: boolean;
  /** A pipe on fd 4 too, read into `errors()` (exec: moat-init's reason, spec/landlock.ts). */
  errorPipe?: boolean;
}

export interface GatedProcess {
  child: ChildProcess;
  /** Holds the output until `open()` (the command runs) or `discard()` (it never did). */
  output: StartGate;
  /** Resolves when the process has exited and its pipes are closed. */
  closed: Promise<Exit>;
  /** `closed`, or the failure to spawn the process at all, whichever is known first when asked. */
  ended(): Promise<Exit | { err: Error }>;
  /** Let the process past its gate (fd 3). */
  release(): void;
  /** What arrived on the error pipe (fd 4) so far, at most 4 KiB ('' without one). */
  errors(): string;
}

/** Spawn `argv` held at its gate; see GatedProcess. */
export function spawnGated(argv: string[], o: GatedSpawnOptions): GatedProcess {
  const child = spawn(argv[0], argv.slice(1), {
    stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', ...(o.errorPipe ? ['pipe' as const] : [])],
  });
  let errors = '';
  if (o.errorPipe) {
    const e = child.stdio[4] as Readable;
    e.on('data', (b: Buffer) => {
      if (errors.length < 4096) errors += b.toString('utf8', 0, Math.min(b.length, 4096 - errors.length));
    });
    e.on('error', () => {});
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const closed = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const output = new StartGate();
  const sources = [child.stdout!, child.stderr!];
  let waiting = 0;
  const copy = (from: Readable, stream: 'stdout' | 'stderr', to: Writable | undefined) => {
    from.on('data', (b: Buffer) => {
      o.tee?.(stream, b);
      if (!to || to.destroyed || to.writableEnded) return;
      if (output.write(to, b)) return;
      if (!o.pauseTogether) {
        from.pause();
        to.once('drain', () => from.resume());
        return;
      }
      if (waiting++ === 0) for (const s of sources) s.pause();
      const resume = () => {
        to.off('drain', resume);
        to.off('close', resume);
        if (--waiting === 0) for (const s of sources) s.resume();
      };
      to.on('drain', resume);
      to.on('close', resume);
    });
  };
  copy(child.stdout!, 'stdout', o.stdout);
  copy(child.stderr!, 'stderr', o.stderr);
  if (o.stdin && child.stdin) {
    o.stdin.pipe(child.stdin);
    child.stdin.on('error', () => {});
  }
  const gate = child.stdio[3] as Writable;
  gate.on('error', () => {});
  return {
    child,
    output,
    closed,
    ended: () => Promise.race([closed, spawnError.then((err) => ({ err }))]),
    release: () => gate.end('go\n'),
    errors: () => errors,
  };
}
