/**
 * `docker exec`: Docker's three steps — create an exec instance, start it (on an upgraded
 * connection, or detached), inspect it for the exit status — on moat's one `container.exec`
 * route. The policy decides at create, where Docker's own authorization plugins decide and where
 * the docker CLI prints a refusal, on the same facts as `moat exec`: the container and the
 * process about to run (its user resolved against the container's /etc/passwd). The allowed
 * request then waits, decided, for its start: the command runs as the policy saw it, once, and
 * only for the subject that created it. An instance not started within START_TIMEOUT_MS is
 * dropped without running. With `Tty` the command gets a terminal (moat-tty, as `moat exec -t`)
 * whose window follows the instance's resize requests (`POST /exec/{id}/resize`); with
 * `AttachStdin` the upgraded connection is its stdin, until the client closes its sending side.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { errorInfo } from '../../error-table.js';
import { isMoatError } from '../../errors.js';
import { ApiError } from '../errors.js';
import type { Subject } from '../router.js';
import type { TermSize } from '../../runtime/tty.js';
import type { Call } from './call.js';
import { DockerConsole } from './console.js';
import { ownerOf } from './handler.js';
import { hijacked } from './hijack.js';
import { framer, rawWriter, settled } from './stream.js';

/** How long a created instance waits for its start. */
export const START_TIMEOUT_MS = 60_000;
/** How long a finished instance stays to be inspected, and how many instances are kept. */
const KEEP_MS = 5 * 60_000;
const MAX_INSTANCES = 256;

interface Instance {
  id: string;
  owner: string;
  container: string;
  body: {
    cmd: string[];
    env: string[];
    user?: string;
    workdir?: string;
    tty?: boolean;
    interactive?: boolean;
  };
  running: boolean;
  exitCode: number | null;
  /** The command's process ID once it runs (as runc wrote it). */
  pid?: number;
  started: boolean;
  /** The client's terminal (Tty): resize requests reach it. */
  console?: DockerConsole;
  /** Start it: its output goes to these, its stdin comes from `stdin` (until then it waits, decided). */
  go: (out: { stdin?: Readable; stdout: Writable; stderr: Writable }) => void;
  /** Settles when the command ended (its status in exitCode) or will never run. */
  done: Promise<void>;
}

function refuse(what: string): never {
  throw new ApiError('API_INVALID_REQUEST', `${what} is not supported by moat's API: use moat exec`);
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);

/** Docker's exec config → the body of moat's `container.exec` (validated by its route). */
export function execBodyFromDocker(b: Record<string, unknown>): Instance['body'] {
  if (b.Privileged === true) refuse('exec --privileged');
  const cmd = strings(b.Cmd);
  if (!cmd?.length) throw new ApiError('API_INVALID_REQUEST', 'exec needs a command (Cmd)');
  return {
    cmd,
    env: strings(b.Env) ?? [],
    ...(typeof b.User === 'string' && b.User ? { user: b.User } : {}),
    ...(typeof b.WorkingDir === 'string' && b.WorkingDir ? { workdir: b.WorkingDir } : {}),
    ...(b.Tty === true ? { tty: true } : {}),
    ...(b.AttachStdin === true ? { interactive: true } : {}),
  };
}

export function dockerExecs() {
  const instances = new Map<string, Instance>();

  const forget = (id: string, afterMs: number) => {
    setTimeout(() => instances.delete(id), afterMs).unref();
  };

  const find = (id: string, subject: Subject): Instance => {
    const inst = instances.get(id);
    if (!inst || inst.owner !== ownerOf(subject))
      throw new ApiError('API_NOT_FOUND', `no such exec instance: ${id}`);
    return inst;
  };

  /** `POST /containers/{id}/exec`: decided now; resolves with its ID once allowed. */
  async function create(call: Call, subject: Subject, container: string, docker: unknown): Promise<string> {
    const body = execBodyFromDocker((typeof docker === 'object' && docker !== null ? docker : {}) as never);
    if (instances.size >= MAX_INSTANCES)
      throw new ApiError(
        'API_INVALID_REQUEST',
        `too many exec instances (${MAX_INSTANCES}): start or wait for them`,
      );
    const id = randomBytes(32).toString('hex');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    // Without a client's stdin (started detached, or not upgraded) the command's stdin is empty.
    const stdin = body.interactive ? new PassThrough() : undefined;
    const console = body.tty ? new DockerConsole() : undefined;
    let go!: Instance['go'];
    let expired!: (e: Error) => void;
    const started = new Promise<void>((resolve, reject) => {
      expired = reject;
      go = (out) => {
        stdout.pipe(out.stdout);
        stderr.pipe(out.stderr);
        if (stdin && out.stdin) out.stdin.pipe(stdin);
        else stdin?.end();
        resolve();
      };
    });
    started.catch(() => {});
    let allowed!: () => void;
    const decided = new Promise<void>((resolve) => (allowed = resolve));
    const result = call(
      'POST',
      `/containers/${encodeURIComponent(container)}/exec`,
      body,
      {
        ...(stdin ? { stdin } : {}),
        stdout,
        stderr,
        ...(console ? { console } : {}),
        ready: (pid) => {
          if (pid !== undefined) inst.pid = pid;
          console?.started();
        },
      },
      () => {
        allowed();
        // The handler runs when the client starts the instance (not before), or never.
        const timer = setTimeout(
          () => expired(new ApiError('API_INVALID_REQUEST', `exec instance ${id} was not started in time`)),
          START_TIMEOUT_MS,
        );
        timer.unref();
        return started.finally(() => clearTimeout(timer));
      },
    );
    const inst: Instance = {
      id,
      owner: ownerOf(subject),
      container,
      body,
      running: false,
      exitCode: null,
      started: false,
      ...(console ? { console } : {}),
      go: (out) => {
        inst.started = true;
        inst.running = true;
        go(out);
      },
      done: result
        .then(
          (r) => {
            inst.exitCode = (r as { exitCode?: number }).exitCode ?? 0;
          },
          (e: unknown) => {
            inst.exitCode = errorInfo(isMoatError(e) ? e.code : undefined).exit;
            if (inst.started) stderr.write(`moat: ${(e as Error).message}\n`);
          },
        )
        .finally(() => {
          inst.running = false;
          stdout.end();
          stderr.end();
        }),
    };
    // Denied (or failed before the decision): the create answers with that error.
    await Promise.race([decided, result]);
    instances.set(id, inst);
    void inst.done.then(() => forget(id, inst.started ? KEEP_MS : 0));
    return id;
  }

  /**
   * Start on an upgraded connection (hijack.ts): the output as Docker's raw stream (framed unless
   * the command has a terminal), stdin from the connection when the instance attaches it.
   */
  async function startUpgraded(
    subject: Subject,
    id: string,
    socket: Duplex,
    answer: () => void,
  ): Promise<void> {
    const inst = find(id, subject);
    if (inst.started) throw new ApiError('API_INVALID_REQUEST', `exec instance ${id} was already started`);
    answer();
    const h = hijacked(socket, { tty: Boolean(inst.body.tty), stdin: Boolean(inst.body.interactive) });
    // The client leaving a terminal (docker's detach keys) leaves the command running.
    void h.console.detached.then(() => inst.console?.detach());
    inst.go(h.io);
    await inst.done;
    await h.finish();
  }

  /** Start without an upgrade: detached (answered at once), or the output in the response. */
  async function start(subject: Subject, id: string, body: unknown, res: ServerResponse): Promise<void> {
    const inst = find(id, subject);
    if (inst.started) throw new ApiError('API_INVALID_REQUEST', `exec instance ${id} was already started`);
    const b = (typeof body === 'object' && body !== null ? body : {}) as { Detach?: unknown };
    if (b.Detach === true) {
      const drop = () => new PassThrough().resume();
      inst.go({ stdout: drop(), stderr: drop() });
      res.writeHead(200, { 'content-type': 'application/json' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
    const stdout = inst.body.tty ? rawWriter(res) : framer(res, 1);
    const stderr = inst.body.tty ? rawWriter(res) : framer(res, 2);
    inst.go({ stdout, stderr });
    await inst.done;
    await Promise.all([settled(stdout), settled(stderr)]);
    res.end();
  }

  /** `GET /exec/{id}/json`. */
  function inspect(subject: Subject, id: string): Record<string, unknown> {
    const inst = find(id, subject);
    return {
      ID: inst.id,
      ContainerID: inst.container,
      Running: inst.running,
      ExitCode: inst.exitCode,
      OpenStdin: Boolean(inst.body.interactive),
      OpenStdout: true,
      OpenStderr: true,
      CanRemove: false,
      DetachKeys: '',
      Pid: inst.pid ?? 0,
      ProcessConfig: {
        tty: Boolean(inst.body.tty),
        privileged: false,
        entrypoint: inst.body.cmd[0],
        arguments: inst.body.cmd.slice(1),
        ...(inst.body.user ? { user: inst.body.user } : {}),
      },
    };
  }

  /** `POST /exec/{id}/resize`: the window of the instance's terminal (kept until it runs). */
  function resize(subject: Subject, id: string, size: TermSize): void {
    const inst = find(id, subject);
    if (!inst.console)
      throw new ApiError('API_INVALID_REQUEST', `exec instance ${id} has no terminal (exec -t)`);
    inst.console.resize(size);
  }

  return { create, start, startUpgraded, inspect, resize };
}
