/**
 * How the CLI shows an error: `moat: <message> [CODE]` and a `hint:` line on stderr, or with
 * `--format json` one `{"error": {code, message, hint}}` object on stdout. Returns the exit status.
 */
import { describeError } from '../error-table.js';
import { logLevel } from './app.js';
import { json } from './output.js';

export function printError(e: unknown, state: { json: boolean }): number {
  const d = describeError(e);
  if (state.json) {
    const { code, message, hint, details } = d;
    process.stdout.write(json({ error: { code, message, hint, ...(details ? { details } : {}) } }));
    return d.exit;
  }
  process.stderr.write(`moat: ${d.message} [${d.code}]\nhint: ${d.hint}\n`);
  // A bug's stack helps whoever fixes it, not the user who hit it: shown when asked for.
  if (d.code === 'INTERNAL' && /^(debug|trace)$/.test(logLevel()) && e instanceof Error && e.stack)
    process.stderr.write(`${e.stack}\n`);
  return d.exit;
}

/**
 * Run `fn` for every argument, as docker does for rm, stop, kill, rmi: a failure is printed and
 * the next argument still runs. The exit status is 0 when all succeeded, the failures' status
 * when they agree (a single argument keeps its own, e.g. 3 for a policy denial), else 1.
 */
export async function forEachArg(
  args: string[],
  state: { json: boolean; exitCode: number },
  fn: (arg: string) => Promise<void>,
): Promise<void> {
  const statuses = new Set<number>();
  for (const a of args) {
    try {
      await fn(a);
    } catch (e) {
      statuses.add(printError(e, state));
    }
  }
  if (statuses.size) state.exitCode = statuses.size === 1 ? [...statuses][0] : 1;
}
