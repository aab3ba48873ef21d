/**
 * Messages the way runc gives them: logrus lines in the `--log` file (JSON with `--log-format
 * json`: `{"level":"error","msg":"...","time":"..."}`, else logfmt), and an error's message alone on
 * stderr. conmon and containerd's shim read the last error line of the log file and show its msg
 * (podman prints it, Kubernetes puts it in the pod's events), so a refusal must land there.
 * Appends one line per write (O_APPEND): runc writes to the same file after us.
 */
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface RuncLog {
  file?: string;
  format: 'json' | 'text';
  debug: boolean;
}

function logfmt(v: string): string {
  return /^[\w./:-]+$/.test(v) ? v : JSON.stringify(v);
}

/** One log line in runc's format; extra fields after msg. */
export function formatLine(
  level: Level,
  msg: string,
  format: RuncLog['format'],
  extra: Record<string, unknown> = {},
  now = new Date(),
): string {
  const time = now.toISOString().replace(/\.\d+Z$/, 'Z');
  if (format === 'json') return JSON.stringify({ level, msg, ...extra, time }) + '\n';
  const fields = Object.entries(extra).map(
    ([k, v]) => `${k}=${logfmt(typeof v === 'string' ? v : JSON.stringify(v))}`,
  );
  return [`time="${time}"`, `level=${level}`, `msg=${logfmt(msg)}`, ...fields].join(' ') + '\n';
}

export function writeLog(log: RuncLog, level: Level, msg: string, extra?: Record<string, unknown>): void {
  if (level === 'debug' && !log.debug) return;
  const line = formatLine(level, msg, log.format, extra);
  if (log.file) {
    try {
      appendFileSync(log.file, line, { mode: 0o644 });
      return;
    } catch {
      /* an unwritable log: stderr, as logrus falls back */
    }
  }
  // Without --log, runc's logrus writes to stderr.
  process.stderr.write(line);
}

/** runc's fatal(): the error to the log, and its message alone on stderr. */
export function fatal(log: RuncLog, msg: string): void {
  writeLog(log, 'error', msg);
  process.stderr.write(`${msg}\n`);
}

/**
 * Decision lines: to runc's `--log` when the caller gave one (containerd's shim does), to
 * `$MOAT_OCI_LOG` when set (podman passes no --log), else to stderr only with --debug. A denial
 * is reported by the caller's fatal() as well.
 */
export function decisionLog(
  log: RuncLog,
  env: NodeJS.ProcessEnv,
  level: 'info' | 'error',
  msg: string,
  extra: Record<string, unknown>,
): void {
  if (env.MOAT_OCI_LOG) writeLog({ file: env.MOAT_OCI_LOG, format: 'json', debug: false }, level, msg, extra);
  if (level === 'error') return; // fatal() writes the error to the caller's log
  if (log.file || log.debug) writeLog(log, level, msg, extra);
}
