/**
 * `moat attach` and `moat start -a [-i]`: the CLI's end of a container's output, stdin and
 * terminal (see src/runtime/attach). Both ask the container first (an inspect: is there a terminal,
 * is stdin kept open), then set up the user's terminal as run -it does (cli/terminal).
 */
import type { Command } from 'commander';
import type { RequestIo } from '../api/router.js';
import type { ContainerRecord } from '../runtime/state.js';
import { startError } from '../runtime/start-errors.js';
import { request } from './app.js';
import type { CliState } from './index.js';
import { DEFAULT_DETACH_KEYS, openTerminal, type CliTerminal } from './terminal/index.js';

interface Attached {
  name?: string;
  exitCode?: number;
  error?: string;
  detached?: boolean;
}

/** The streams for a container: its terminal (raw) when it has one, else plain stdio. */
function streams(
  rec: ContainerRecord,
  wantStdin: boolean,
  detachKeys: string,
): { io: RequestIo; term?: CliTerminal } {
  const stdin = wantStdin && Boolean(rec.options?.interactive);
  if (rec.options?.tty) {
    const term = openTerminal({ interactive: stdin && Boolean(process.stdin.isTTY), detachKeys });
    return {
      term,
      io: { stdin: term.stdin, stdout: process.stdout, stderr: process.stderr, console: term.console },
    };
  }
  return { io: { stdin: stdin ? process.stdin : undefined, stdout: process.stdout, stderr: process.stderr } };
}

async function inspect(ref: string): Promise<ContainerRecord> {
  return request<ContainerRecord>('GET', `/containers/${encodeURIComponent(ref)}/json`);
}

function finish(res: Attached, ref: string, state: CliState): void {
  if (res.detached) {
    process.stderr.write(
      `\r\nmoat: detached from ${res.name ?? ref}: moat attach ${res.name ?? ref} to return\r\n`,
    );
    return;
  }
  if (res.error) throw startError(res.error, { kind: 'run', name: res.name ?? ref, exitCode: res.exitCode });
  state.exitCode = res.exitCode ?? 0;
}

/** `moat start -a [-i] NAME`: start it attached, as run does; the exit status is the container's. */
export async function startAttached(
  ref: string,
  f: { interactive?: boolean; detachKeys: string },
  state: CliState,
): Promise<void> {
  const rec = await inspect(ref);
  const { io, term } = streams(rec, Boolean(f.interactive), f.detachKeys);
  let res: Attached;
  try {
    res = await request<Attached>(
      'POST',
      `/containers/${encodeURIComponent(ref)}/start`,
      { attach: true, interactive: Boolean(f.interactive) },
      io,
    );
  } finally {
    term?.restore();
  }
  finish(res, ref, state);
}

export function registerAttach(program: Command, state: CliState): void {
  program
    .command('attach')
    .description(
      "attach to a running container's output, stdin (if it keeps stdin open: -i) and terminal; detach with Ctrl-P Ctrl-Q (exit status: the container's, when it ends)",
    )
    .argument('<container>')
    .option('--no-stdin', 'do not attach stdin')
    .option('--detach-keys <keys>', 'the keys that detach, "" for none', DEFAULT_DETACH_KEYS)
    .action(async (ref: string, f: { stdin: boolean; detachKeys: string }) => {
      const rec = await inspect(ref);
      const { io, term } = streams(rec, f.stdin, f.detachKeys);
      let res: Attached;
      try {
        res = await request<Attached>(
          'POST',
          `/containers/${encodeURIComponent(ref)}/attach`,
          { stdin: f.stdin },
          io,
        );
      } finally {
        term?.restore();
      }
      finish({ name: rec.name, ...res }, ref, state);
    });
}
