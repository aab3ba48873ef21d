/**
 * The CLI's side of a container's terminal (run -it, exec -it, attach, start -ai): the user's
 * terminal in raw mode while attached (restored on every way out), the window size at attach and
 * on each SIGWINCH, and the detach keys (Ctrl-P Ctrl-Q) that leave the container running.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { ConsoleClient, TermSize } from '../../runtime/tty.js';
import { UsageError } from '../errors.js';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from './detach-keys.js';

export { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys.js';

export interface CliTerminal {
  /** What the container reads (the user's keys, without the detach sequence); undefined without -i. */
  stdin?: Readable;
  console: ConsoleClient;
  /** Puts the user's terminal back as it was; safe to call more than once. */
  restore(): void;
}

function windowOf(out: NodeJS.WriteStream): TermSize | undefined {
  return out.isTTY && out.rows > 0 && out.columns > 0 ? { rows: out.rows, cols: out.columns } : undefined;
}

/**
 * Sets up the user's terminal for a container's: `interactive` passes stdin (raw, if it is a
 * terminal). Docker's rule: -i with -t needs stdin to be a terminal.
 */
export function openTerminal(o: { interactive: boolean; detachKeys?: string }): CliTerminal {
  const input = process.stdin;
  const out = process.stdout;
  const keys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
  if (o.interactive && !input.isTTY)
    throw new UsageError('the input device is not a TTY', {
      hint: 'drop -t to pass a pipe or a file as stdin (-i alone), or run from a terminal',
    });
  let detach: () => void = () => {};
  const detached = new Promise<void>((r) => (detach = r));
  let stdin: PassThrough | undefined;
  let raw = false;
  let onData: ((b: Buffer) => void) | undefined;
  if (o.interactive) {
    stdin = new PassThrough();
    const scanner = new DetachScanner(keys);
    onData = (b: Buffer) => {
      const { pass, detach: done } = scanner.feed(b);
      if (pass.length) stdin!.write(pass);
      if (done) {
        input.off('data', onData!);
        input.pause();
        detach();
      }
    };
    input.setRawMode(true);
    raw = true;
    input.on('data', onData);
    input.once('end', () => stdin!.end());
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (onData) input.off('data', onData);
    if (raw) input.setRawMode(false);
    input.pause();
    input.unref?.();
  };
  process.once('exit', restore);
  const size = windowOf(out);
  return {
    stdin,
    restore,
    console: {
      ...(size ? { size } : {}),
      onResize: (fn) => {
        const onResize = () => {
          const s = windowOf(out);
          if (s) fn(s);
        };
        out.on('resize', onResize);
        return () => out.off('resize', onResize);
      },
      detached,
    },
  };
}
