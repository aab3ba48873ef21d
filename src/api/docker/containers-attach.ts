/**
 * `POST /containers/{id}/attach` with `Upgrade: tcp`: what `docker run`, `docker start -a` and
 * `docker attach` do. Two ways, by what the client attaches:
 *
 * - Output only, of a container without a terminal (`docker run` without -i or -t): the policy
 *   decides `container.logs` (a read of no lines); then the connection is upgraded and the output
 *   follows, framed as in `logs`, from the start until the container exits.
 * - A terminal or stdin (`docker run -it`, `-i`, `docker attach`, `docker start -ai`): the policy
 *   decides `container.attach` (the container's facts, its terminal among them), and the client
 *   is the container's console (hijack.ts). A running container is attached through its monitor
 *   (moat's container.attach route). One not running waits for its start (attachments.ts): the
 *   docker CLI attaches, then starts, and its start request starts the container with this client
 *   attached (moat's container.start route, attached as `moat start -a`), so no output is lost and
 *   the client's end of stdin is the container's (docker run -i).
 *
 * AutoRemove (`docker run --rm`) is the run option `rm`: the container's monitor removes it when
 * it exits (or fails to start), after noting its exit status for `wait?condition=removed` — also
 * when this service is gone by then. An attached client reads the log to its end meanwhile.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { startError } from '../../runtime/start-errors.js';
import type { ContainerRecord } from '../../runtime/state.js';
import { errorBody, statusOf, subjectOf } from '../http.js';
import { START_TIMEOUT_MS } from './attachments.js';
import type { Call } from './call.js';
import { enc, failRaw, flag, ownerOf, UPGRADED, type DockerContext } from './handler.js';
import { hijacked, type Hijacked } from './hijack.js';
import { framer, settled, sink } from './stream.js';

/** What moat's attached start answers (routes.ts). */
interface StartOutcome {
  exitCode?: number;
  started?: boolean;
  error?: string;
}

function fail(socket: Duplex, e: unknown): void {
  const b = errorBody(e);
  failRaw(socket, statusOf(b.code), { message: b.message, code: b.code });
}

export async function attachContainer(
  ctx: DockerContext,
  req: IncomingMessage,
  id: string,
  q: URLSearchParams,
  socket: Duplex,
): Promise<void> {
  const call = ctx.callerFor(req);
  let c: ContainerRecord;
  try {
    c = (await call('GET', `/containers/${enc(id)}/json`)) as ContainerRecord;
  } catch (e) {
    fail(socket, e);
    return;
  }
  const tty = Boolean(c.options?.tty);
  // Docker attaches stdin only to a container that keeps it open (-i).
  const stdin = flag(q.get('stdin')) && Boolean(c.options?.interactive);
  if (!tty && !stdin) return attachOutput(call, c, q, socket);
  const owner = ownerOf(subjectOf(ctx.options, req));
  const opts = { tty, stdin, stdout: wanted(q, 'stdout'), stderr: wanted(q, 'stderr') };
  const running = c.status === 'running';
  // Not running: decided now (the client hears a refusal before it starts anything), run when
  // its subject starts it.
  if (!running) {
    try {
      await decideOnly(call, `/containers/${enc(c.id)}/attach`, { stdin });
    } catch (e) {
      fail(socket, e);
      return;
    }
    socket.write(UPGRADED);
  }
  const h = hijacked(socket, { ...opts, live: running });
  // Resize requests find this console from now until the connection closes.
  socket.once('close', ctx.attachments.attached(owner, c.id, h.console));
  if (running) {
    let upgraded = false;
    const answer = () => {
      upgraded = true;
      socket.write(UPGRADED);
    };
    return follow(call, c, { stdin }, h, answer).catch((e: unknown) => {
      if (!upgraded) fail(socket, e);
    });
  }
  const waited = () => {
    clearTimeout(timer);
    withdraw();
  };
  const withdraw = ctx.attachments.wait({
    owner,
    id: c.id,
    name: c.name,
    start: (startCall) => {
      waited();
      return startAttached(startCall, c, stdin, h);
    },
    join: () => {
      waited();
      h.console.started();
      void follow(call, c, { stdin }, h).catch((e: unknown) => {
        h.tell(errorBody(e).message);
        return h.finish();
      });
    },
  });
  const timer = setTimeout(() => {
    waited();
    h.tell(`${c.name} was not started within ${START_TIMEOUT_MS / 1000} s of attaching`);
    void h.finish();
  }, START_TIMEOUT_MS);
  timer.unref();
  socket.once('close', waited);
}

const wanted = (q: URLSearchParams, name: string): boolean => !q.has(name) || flag(q.get(name));

/**
 * Asks the policy about a request whose handler must not run (yet): resolves when it is allowed,
 * rejects with the refusal. The router runs a handler only once `onAllowed` resolves.
 */
async function decideOnly(call: Call, path: string, body: unknown): Promise<void> {
  const allowed = new Error('allowed');
  try {
    await call('POST', path, body, undefined, () => {
      throw allowed;
    });
  } catch (e) {
    if (e !== allowed) throw e;
  }
}

/** A running container, through moat's container.attach route; the connection ends with it. */
async function follow(
  call: Call,
  c: ContainerRecord,
  body: { stdin: boolean },
  h: Hijacked,
  onAllowed?: () => void,
): Promise<void> {
  let allowed = !onAllowed;
  try {
    await call('POST', `/containers/${enc(c.id)}/attach`, body, { ...h.io, console: h.console }, () => {
      allowed = true;
      onAllowed?.();
    });
  } catch (e) {
    if (!allowed) throw e;
    h.tell(errorBody(e).message);
  }
  await h.finish();
}

/**
 * The start request of a waiting attachment: moat's container.start, attached (as `moat start
 * -a[i]`), with this client's streams and console. Resolves once the container runs; rejects
 * with the refusal, or with why it did not start (runc's reason, with docker's status); the
 * connection then ends. Once it runs, the connection ends with it (or when the client leaves).
 */
async function startAttached(call: Call, c: ContainerRecord, stdin: boolean, h: Hijacked): Promise<void> {
  let running!: () => void;
  const started = new Promise<undefined>((resolve) => (running = () => resolve(undefined)));
  const result = call(
    'POST',
    `/containers/${enc(c.id)}/start`,
    { attach: true, interactive: stdin },
    {
      ...h.io,
      console: h.console,
      ready: () => {
        h.console.started();
        running();
      },
    },
  ) as Promise<StartOutcome>;
  const end = () => h.finish();
  let first: StartOutcome | undefined;
  try {
    first = await Promise.race([started, result]);
  } catch (e) {
    void end();
    throw e;
  }
  if (first && !first.started) {
    void end();
    throw startError(first.error ?? 'the container did not start', {
      kind: 'run',
      name: c.name,
      ...(first.exitCode !== undefined ? { exitCode: first.exitCode } : {}),
    });
  }
  void result.then(end, (e: unknown) => {
    h.tell(errorBody(e).message);
    return end();
  });
}

/** Output only (a container without a terminal, no stdin): its log, followed. */
async function attachOutput(
  call: Call,
  c: ContainerRecord,
  q: URLSearchParams,
  socket: Duplex,
): Promise<void> {
  const path = `/containers/${enc(c.id)}/logs`;
  try {
    await call('GET', path, { tail: 0 }, { stdout: sink(), stderr: sink() });
  } catch (e) {
    fail(socket, e);
    return;
  }
  // docker run attaches before it starts the container: then every line is new output, and
  // skipping what is there when the follow begins could drop lines written meanwhile.
  const fromStart = flag(q.get('logs')) || c.status === 'created';
  // The upgrade is answered once the follow holds the log open: docker run starts the
  // container when it has the answer, and with --rm the container (and its log) may be gone
  // soon after.
  let upgraded = false;
  const answer = () => {
    if (upgraded) return;
    upgraded = true;
    socket.write(UPGRADED);
  };
  const stdout = wanted(q, 'stdout') ? framer(socket, 1) : sink();
  const stderr = wanted(q, 'stderr') ? framer(socket, 2) : sink();
  const following = call(
    'GET',
    path,
    { follow: true, untilExit: true, ...(fromStart ? {} : { tail: 0 }) },
    { stdout, stderr, ready: answer },
  ).then(
    () => answer(),
    (e: unknown) => {
      answer();
      stderr.write(Buffer.from(`moat: ${errorBody(e).message}\n`));
    },
  );
  await following;
  // The last lines may still be queued in the framers: the socket ends after them.
  stdout.end();
  stderr.end();
  await Promise.all([settled(stdout), settled(stderr)]);
  socket.end();
}
