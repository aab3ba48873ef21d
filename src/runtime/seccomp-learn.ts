/**
 * A learning run (`moat seccomp learn`, `moat run --seccomp-learn FILE`): its container gets the
 * recording profile (seccomp/learn/profile.ts) with runc's `listenerPath` on a socket of its own;
 * the recorder (native/moat-seccomp-listen) is started before runc and hears every call; when the
 * container ends, what it heard becomes the learned profile, written to FILE atomically (a
 * temporary file beside it, renamed: never half a profile). The CLI then says what the user must
 * know (calls the default profile would refuse) from the file itself (`moat seccomp explain`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as C, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { learnedProfile, NAMESPACE_CALLS, recordingProfile } from '../seccomp/learn/profile.js';
import { readRecord, readSyscallTable, type SyscallTable } from '../seccomp/learn/record.js';
import { resolveSeccomp } from '../seccomp/resolve.js';
import type { LinuxSeccomp } from '../seccomp/types.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { RuntimeError } from './errors.js';

const LISTENER = fileURLToPath(new URL('../native/moat-seccomp-listen', import.meta.url));
const TABLE = fileURLToPath(new URL('../native/syscalls.json', import.meta.url));

/** The recorder and the syscall table, or a clear error saying they were not built. */
function learnTools(): { listener: string; table: SyscallTable } {
  try {
    accessSync(LISTENER, C.X_OK);
    return { listener: LISTENER, table: readSyscallTable(TABLE) };
  } catch {
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `seccomp learning needs moat's recorder ${LISTENER} and its syscall table, which were not built`,
      { hint: 'install gcc and libc6-dev, then npm run build' },
    );
  }
}

/** The recorder's socket (short: a unix socket path has at most 107 bytes) and record file. */
export function learnPaths(
  runcRoot: string,
  containerDir: string,
  id: string,
): { socket: string; record: string } {
  return {
    socket: path.join(runcRoot, `sl-${id.slice(0, 12)}.sock`),
    record: path.join(containerDir, 'seccomp-record'),
  };
}

/** The recording filter for the spec (checked: the recorder is there). */
export function learningSeccomp(
  socket: string,
  ctx: { capabilities: string[]; arch: NodeJS.Architecture; kernelVersion: string },
): LinuxSeccomp {
  const { table } = learnTools();
  return resolveSeccomp(recordingProfile(Object.keys(table.syscalls), socket), ctx);
}

/** The recorder, listening, before runc starts; `done` settles when it has exited. */
export async function startRecorder(
  socket: string,
  record: string,
): Promise<{ child: ChildProcess; done: Promise<number> }> {
  const { listener } = learnTools();
  await fsp.rm(socket, { force: true });
  await fsp.rm(record, { force: true });
  const child = spawn(listener, [socket, record], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (err.length < 4096) err += b.toString();
  });
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the seccomp recorder did not start')), 10_000);
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    void done.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the seccomp recorder exited (${code}): ${err.trim()}`));
    });
  }).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw new RuntimeError('RUNTIME_START_FAILED', (e as Error).message);
  });
  return { child, done };
}

export interface LearnReport {
  file: string;
  calls: number;
  notInDefault: string[];
  unknown: string[];
}

/** Once the container has ended: wait (bounded) for the recorder, and write what it heard to `out`. */
export async function finishLearning(
  rec: { done: Promise<number>; child: ChildProcess },
  record: string,
  out: string,
  o: { allowNamespaces?: boolean } = {},
): Promise<LearnReport> {
  const timer = setTimeout(() => rec.child.kill('SIGKILL'), 5000);
  await rec.done;
  clearTimeout(timer);
  const { table } = learnTools();
  const text = await fsp.readFile(record, 'utf8').catch(() => '');
  const heard = readRecord(text, table);
  if (!heard.names.length)
    throw new RuntimeError(
      'RUNTIME_START_FAILED',
      'the learning run recorded no system call (did the container start?)',
    );
  const learned = learnedProfile(heard.names, o);
  await writeFileAtomic(out, JSON.stringify(learned.profile, null, 2) + '\n', 0o644);
  return {
    file: out,
    calls: learned.names.length,
    notInDefault: learned.notInDefault,
    unknown: heard.unknown,
  };
}

/** The namespace calls a learning run may keep loosened (`--allow-namespaces`). */
export const LOOSENED_WITH_NAMESPACES = NAMESPACE_CALLS;
