/**
 * `POST /containers/{id}/attach` with `Upgrade: tcp`: what `docker run` does before it starts the
 * container. Only output is offered (moat refuses -i over the API). The policy decides
 * `container.logs` first (a read of no lines); then the connection is upgraded and the output
 * follows, framed as in `logs`, from the start until the container exits.
 *
 * AutoRemove (`docker run --rm`) is the run option `rm`: the container's monitor removes it when
 * it exits (or fails to start), after noting its exit status for `wait?condition=removed` — also
 * when this service is gone by then. An attached client reads the log to its end meanwhile.
 */
import type { Duplex } from 'node:stream';
import type { ContainerRecord } from '../../runtime/state.js';
import { errorBody, statusOf } from '../http.js';
import type { Call } from './call.js';
import { enc, failRaw, flag, refuse, UPGRADED } from './handler.js';
import { framer, settled, sink } from './stream.js';

export async function attachContainer(
  call: Call,
  id: string,
  q: URLSearchParams,
  socket: Duplex,
): Promise<void> {
  const path = `/containers/${enc(id)}/logs`;
  let fromStart = flag(q.get('logs'));
  try {
    if (flag(q.get('stdin'))) refuse('attaching stdin', 'run interactive containers with the moat CLI');
    await call('GET', path, { tail: 0 }, { stdout: sink(), stderr: sink() });
    // docker run attaches before it starts the container: then every line is new output, and
    // skipping what is there when the follow begins could drop lines written meanwhile.
    const c = (await call('GET', `/containers/${enc(id)}/json`)) as ContainerRecord;
    if (c.status === 'created') fromStart = true;
  } catch (e) {
    const b = errorBody(e);
    failRaw(socket, statusOf(b.code), { message: b.message, code: b.code });
    return;
  }
  // The upgrade is answered once the follow holds the log open: docker run starts the
  // container when it has the answer, and with --rm the container (and its log) may be gone
  // soon after.
  let upgraded = false;
  const answer = () => {
    if (upgraded) return;
    upgraded = true;
    socket.write(UPGRADED);
  };
  const wanted = (name: string, n: 1 | 2) => (!q.has(name) || flag(q.get(name)) ? framer(socket, n) : sink());
  const stdout = wanted('stdout', 1);
  const stderr = wanted('stderr', 2);
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
