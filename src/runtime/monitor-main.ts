/**
 * A container's monitor: `node monitor-main.js`, in a session of its own, started by
 * monitor-client.ts. It waits for a container ID on fd 3, supervises that container to its end
 * (output into the log, and to fds 4/5 while a client is attached; the exit status into the
 * record), removes it if its record says --rm, and reports on fd 1 (see monitor-client.ts for the
 * protocol). It outlives the CLI or service that started it: a killed `moat run` leaves a
 * container that still ends with its status recorded and --rm honoured.
 */
import { appendFileSync } from 'node:fs';
import { Socket } from 'node:net';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { mark } from '../util/timing.js';
import { openLifecycle, superviseDeps, type Lifecycle } from './lifecycle.js';
import type { ExitMessage, StartedMessage } from './monitor-client.js';
import { removeExited } from './remove.js';
import { containerDirs } from './state.js';
import { AttachServer } from './attach/server.js';
import { attachSocketPath } from './attach/socket-path.js';
import { supervise, type Attach } from './supervise.js';
import { resizeTerminal, termSize, type TermSize } from './tty.js';
import { containerEvent } from './events/index.js';
import { BACKOFF_RESET_MS, restartDelayMs, shouldRestart } from './restart.js';
import { record } from './supervise/record.js';
import type { ContainerStore } from './state.js';
import { startHealthChecks } from './health/checker.js';

const MAX_LINE = 64 * 1024;
/** Signals the monitor passes on to the container (sent to it by the attached CLI, or by anyone). */
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

interface Request {
  id?: string;
  attach?: boolean;
  stdin?: boolean;
  signal?: string;
  /** The attached client's window: [rows, cols] (with id: the start size; alone: a resize). */
  size?: [number, number];
}

let diagFile: string | undefined;
function diag(msg: string): void {
  if (!diagFile) return;
  try {
    appendFileSync(diagFile, `${new Date().toISOString()} ${msg}\n`, { mode: 0o600 });
  } catch {
    /* the container's directory is gone (removed) */
  }
}

/**
 * The wait before a restart, marked in the record (`ps`: Restarting). False when the container was
 * stopped by hand or removed meanwhile (checked every 100 ms): then it is not run again.
 */
async function backOff(deps: { store: ContainerStore }, id: string, ms: number): Promise<boolean> {
  if (!(await record(deps, id, (r) => (r.restarting = true)))) return false;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
    const r = await deps.store.load(id).catch(() => undefined);
    if (!r) return false;
    if (r.manualStop) {
      await record(deps, id, (x) => delete x.restarting);
      return false;
    }
  }
  return true;
}

function send(msg: StartedMessage | { exit: ExitMessage }): void {
  try {
    process.stdout.write(JSON.stringify(msg) + '\n');
  } catch {
    /* nobody listens any more */
  }
}

/** Requests on fd 3, one JSON object a line; `onEnd` when the starter closes its end. */
function readRequests(onRequest: (r: Request) => void, onEnd: () => void): void {
  let ctl: Socket;
  try {
    ctl = new Socket({ fd: 3, readable: true, writable: false });
  } catch {
    onEnd();
    return;
  }
  let buf = '';
  ctl.setEncoding('utf8');
  ctl.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const r = JSON.parse(line) as Request;
        if (typeof r === 'object' && r !== null) onRequest(r);
      } catch {
        /* not a request */
      }
    }
    if (buf.length > MAX_LINE) ctl.destroy();
  });
  ctl.on('error', () => {});
  ctl.on('close', onEnd);
}

/** A writable end of an inherited socket (fd 4, 5), or undefined if there is none. */
function output(fd: number): Writable | undefined {
  try {
    const s = new Socket({ fd, readable: false, writable: true });
    s.on('error', () => s.destroy());
    return s;
  } catch {
    return undefined;
  }
}

/** Resolves once the stream has flushed and ended, or is gone. */
function ended(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (w.destroyed) return resolve();
    w.once('close', resolve);
    w.once('finish', resolve);
    w.end();
  });
}

async function main(): Promise<number> {
  mark('monitor: main');
  let deliver: ((sig: NodeJS.Signals) => void) | undefined;
  const early: NodeJS.Signals[] = [];
  const onSignal = (sig: NodeJS.Signals) => (deliver ? deliver(sig) : early.push(sig));
  for (const s of FORWARDED) process.on(s, () => onSignal(s));
  // Made while the starter still plans the container (a prewarmed monitor): it needs no ID.
  let engine: Lifecycle | undefined;
  let openError: unknown;
  try {
    engine = openLifecycle();
  } catch (e) {
    openError = e;
  }
  mark('monitor: lifecycle open');

  // The window-size FIFO, once the container is known (a resize before then: the start size).
  const tty: { ctl?: string } = {};
  let lastSize: TermSize | undefined;
  const first = await new Promise<Request | undefined>((resolve) =>
    readRequests(
      (r) => {
        if (r.id !== undefined) resolve(r);
        else if (typeof r.signal === 'string' && (FORWARDED as string[]).includes(r.signal))
          onSignal(r.signal as NodeJS.Signals);
        else if (Array.isArray(r.size)) {
          lastSize = termSize(r.size[0], r.size[1]);
          if (tty.ctl && lastSize) resizeTerminal(tty.ctl, lastSize);
        }
      },
      () => resolve(undefined),
    ),
  );
  // Never given a container (a prewarmed monitor whose run did not happen): nothing to do.
  if (!first) return 0;
  mark('monitor: given a container');
  const id = first.id;
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    send({
      error: { code: 'RUNTIME_INVALID_OPTION', message: 'monitor needs a container id', exitCode: 125 },
    });
    return 2;
  }
  if (!engine) {
    const err = openError as { code?: string; message?: string };
    send({
      error: {
        code: err.code ?? 'RUNTIME_START_FAILED',
        message: err.message ?? String(openError),
        exitCode: 125,
      },
    });
    return 1;
  }
  const dirs = containerDirs(engine.deps.paths, id);
  diagFile = path.join(dirs.dir, 'monitor.log');
  tty.ctl = dirs.ttyCtl;
  if (Array.isArray(first.size)) lastSize = termSize(first.size[0], first.size[1]);
  engine.deps.log = (msg, extra) => diag(`${msg} ${extra ? JSON.stringify(extra) : ''}`);

  let attach: Attach | undefined;
  if (first.attach) {
    const stdout = output(4);
    const stderr = output(5);
    if (stdout && stderr) attach = { stdout, stderr, ...(lastSize ? { console: { size: lastSize } } : {}) };
    if (attach && first.stdin) {
      process.stdin.on('error', () => {});
      attach.stdin = process.stdin;
    }
  }

  let outcome: ExitMessage;
  let autoRemove = false;
  let server: AttachServer | undefined;
  try {
    const rec = await engine.containers.load(id);
    autoRemove = Boolean(rec.options.rm);
    // Output fans out from here to the client that started it and to any that attach later.
    const s = new AttachServer({
      socket: attachSocketPath(engine.deps.paths, id),
      interactive: Boolean(rec.options.interactive),
      tty: Boolean(rec.options.tty),
      ttyCtl: dirs.ttyCtl,
      initial: attach,
      log: diag,
    });
    server = s;
    const deps = superviseDeps(engine);
    const data = engine.deps.paths.data;
    // A start by hand: the stopped-by-hand mark and the restart count begin again.
    await record(deps, id, (r) => {
      delete r.manualStop;
      delete r.restarting;
      r.restartCount = 0;
    });
    let current = rec;
    let restarts = 0;
    let inARow = 0;
    let listening = false;
    let out;
    for (;;) {
      const began = Date.now();
      let stopChecks: (() => void) | undefined;
      out = await supervise(deps, current, s.attach, {
        onStarted: (r) => {
          if (r.pid !== undefined) {
            if (!listening) s.listen();
            listening = true;
            containerEvent(data, 'start', current);
            // Its health check (health/), while it runs.
            if (current.healthcheck)
              stopChecks = startHealthChecks(deps, id, current.healthcheck, {
                startedAtMs: Date.now(),
                kill: () => deliver?.('SIGKILL'),
                log: diag,
              });
          }
          send(r.pid !== undefined ? { started: { pid: r.pid } } : { error: r.error });
        },
        onControl: (fn) => {
          deliver = fn;
          for (const s of early.splice(0)) fn(s);
        },
      });
      stopChecks?.();
      if (out.started) {
        if (out.oomKilled) containerEvent(data, 'oom', current);
        containerEvent(data, 'die', current, { exitCode: out.exitCode });
      }
      // Its restart policy (restart.ts): again after a back-off, unless stopped by hand or removed.
      const now = await engine.containers.load(id).catch(() => undefined);
      const ended = { exitCode: out.exitCode, started: out.started, restarts };
      if (!now || !shouldRestart(rec.options.restart, { ...ended, manualStop: Boolean(now.manualStop) }))
        break;
      if (Date.now() - began >= BACKOFF_RESET_MS) inARow = 0;
      if (!(await backOff(deps, id, restartDelayMs(inARow++)))) break;
      restarts++;
      const kept = await record(deps, id, (r) => {
        r.restartCount = restarts;
        delete r.restarting;
      });
      if (!kept) break;
      current = await engine.containers.load(id);
      containerEvent(data, 'restart', current);
    }
    outcome = { exitCode: out.exitCode, started: out.started, oomKilled: out.oomKilled ?? false };
    if (out.error) outcome.error = out.error;
  } catch (e) {
    const err = e as { code?: string; message?: string; stack?: string };
    const message = err.message ?? String(e);
    diag(`supervision failed: ${err.stack ?? message}`);
    send({ error: { code: err.code ?? 'RUNTIME_START_FAILED', message, exitCode: 125 } });
    outcome = { exitCode: 125, started: false, error: message };
  }
  // The attached client gets the last output while --rm removes the container.
  const flushed = server
    ? server.finish(outcome.exitCode)
    : attach
      ? Promise.all([ended(attach.stdout), ended(attach.stderr)])
      : Promise.resolve();
  if (autoRemove) {
    try {
      outcome.removed = await removeExited(engine, id);
    } catch (e) {
      diag(`--rm failed: ${(e as Error).stack ?? String(e)}`);
    }
  }
  await flushed;
  send({ exit: outcome });
  return 0;
}

process.stdout.on('error', () => {});
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    diag(`monitor failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
