/**
 * Starting a container: every start hands it to a monitor (monitor-client.ts), attached or not.
 * Attached, the caller copies the container's output from the monitor, passes its stdin and its
 * signals on, and returns the exit status once the monitor reports it (after --rm, done by the
 * monitor). Detached, the caller returns once the container runs.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { mark } from '../util/timing.js';
import type { Engine } from './engine.js';
import { RuntimeError } from './errors.js';
import { takeMonitor } from './monitor-client.js';
import { apparmorFor } from './plan.js';
import { active, reconcile } from './reconcile.js';
import { startError } from './start-errors.js';
import { containerDirs, type ContainerRecord } from './state.js';
import type { Attach, RunOutcome } from './supervise.js';

/** Signals an attached client passes on to the container (docker's sig-proxy). */
const PROXIED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

const DETACHED: unique symbol = Symbol('detached');

/** What the monitor wrote to its log, for an error that has nothing better to say. */
async function monitorLog(e: Engine, id: string): Promise<string> {
  const text = await fsp
    .readFile(path.join(containerDirs(e.deps.paths, id).dir, 'monitor.log'), 'utf8')
    .catch(() => '');
  return text.trim().split('\n').slice(-3).join(' ') || 'no output';
}

/** Refuse to start what cannot be started. */
async function startable(e: Engine, rec: ContainerRecord): Promise<void> {
  if (rec.status === 'broken')
    throw new RuntimeError(
      'RUNTIME_CORRUPT_STATE',
      `container ${rec.name || rec.id.slice(0, 12)} has a broken record`,
      {
        hint: `remove it with moat rm -f ${rec.name || rec.id.slice(0, 12)}`,
      },
    );
  // A profile named at create (plan.ts checked it then) must still be one this host can apply:
  // refused here, clearly, rather than by runc half-way through the start.
  if (rec.options?.apparmorProfile) apparmorFor(rec.options, e.deps.host);
  const cur = await reconcile(e, rec);
  if (await active(e, cur))
    throw new RuntimeError(
      'RUNTIME_INVALID_STATE',
      `container ${rec.name} is already ${cur.status === 'running' ? 'running' : 'starting'}`,
    );
}

export interface AttachedStart {
  /** This process's signals go to the container (the CLI; docker's sig-proxy). */
  forwardSignals?: boolean;
  /** Called once the container runs (not if it fails to start): its terminal takes resizes. */
  onStarted?: () => void;
}

export async function runAttached(
  e: Engine,
  rec: ContainerRecord,
  attach: Attach,
  o: AttachedStart = {},
): Promise<RunOutcome> {
  await startable(e, rec);
  const m = takeMonitor({ attach: true, stdin: Boolean(attach.stdin) });
  m.ref();
  const copied = [
    [m.stdout, attach.stdout],
    [m.stderr, attach.stderr],
  ].map(
    ([from, to]) =>
      new Promise<void>((resolve) => {
        if (!from) return resolve();
        from.once('close', () => resolve());
        from.pipe(to as Writable, { end: false });
      }),
  );
  if (attach.stdin && m.stdin) attach.stdin.pipe(m.stdin);
  const onSignal = (s: NodeJS.Signals) => m.signal(s);
  // With a terminal, Ctrl-C is a byte the container's terminal turns into its own SIGINT.
  const forward = o.forwardSignals && !rec.options.tty;
  if (forward) for (const s of PROXIED) process.on(s, onSignal);
  const tty = rec.options.tty ? attach.console : undefined;
  const stopResizes = tty?.onResize?.((size) => m.resize(size));
  try {
    m.start(rec.id, tty?.size);
    mark('container handed to its monitor');
    void m.started.then((msg) => {
      mark('container started');
      if (msg?.started) o.onStarted?.();
    });
    const never = new Promise<never>(() => {});
    const exit = await Promise.race([
      m.exited,
      tty?.detached?.then((): typeof DETACHED => DETACHED) ?? never,
    ]);
    if (exit === DETACHED) return { exitCode: 0, started: true, detached: true };
    mark('exit reported');
    await Promise.all(copied);
    if (exit) {
      // A monitor that could not remove (it reports why in its log) leaves it to us.
      if (rec.options.rm && !exit.removed) await e.remove(rec.id, true).catch(() => {});
      return {
        exitCode: exit.exitCode,
        started: exit.started,
        oomKilled: exit.oomKilled,
        ...(exit.error ? { error: exit.error } : {}),
      };
    }
    // The monitor died without a word: the record (reconciled) says what is known.
    const cur = await e.inspect(rec.id).catch(() => undefined);
    return {
      exitCode: cur?.exitCode ?? 125,
      started: cur?.startedAt !== undefined,
      error: `the monitor of ${rec.name} ended unexpectedly: ${await monitorLog(e, rec.id)}`,
    };
  } finally {
    if (forward) for (const s of PROXIED) process.off(s, onSignal);
    stopResizes?.();
    if (attach.stdin && m.stdin) attach.stdin.unpipe(m.stdin);
    m.release();
  }
}

/** Start under a monitor; resolves once the container runs (the record then, if still there). */
export async function startDetached(e: Engine, ref: string): Promise<ContainerRecord> {
  const rec = await e.containers.resolve(ref);
  await startable(e, rec);
  const m = takeMonitor({ attach: false, stdin: false });
  m.ref();
  let msg;
  try {
    m.start(rec.id);
    msg = await m.started;
  } finally {
    m.release();
  }
  if (!msg)
    throw new RuntimeError(
      'RUNTIME_START_FAILED',
      `the monitor of ${rec.name} failed: ${await monitorLog(e, rec.id)}`,
    );
  // runc's reason, as a moat error with docker's status (start-errors.ts).
  if (msg.error)
    throw startError(msg.error.message, { kind: 'run', name: rec.name, exitCode: msg.error.exitCode });
  // With --rm, a short-lived container may be gone already.
  return e.containers.load(rec.id).catch(() => rec);
}
