/**
 * A container's log options, as Docker's `local` driver has them: `max-size` (one file's size)
 * and `max-file` (how many files, the current one included). Given as `--log-opt` on the CLI,
 * `options.log` on /v1, `HostConfig.LogConfig` on the Docker API; the effective values are
 * recorded with the container (`logConfig`, shown by inspect). A log never takes more than
 * max-size × max-file bytes (and 32 bytes a file).
 */
import { RuntimeError } from '../errors.js';
import { parseBytes } from '../options.js';

/** What the user asked for (run options); unset fields take LOG_DEFAULTS. */
export interface LogOptions {
  maxSize?: number;
  maxFile?: number;
}

/** A container's log as it is kept (recorded with the container). */
export interface LogConfig {
  type: 'local';
  maxSize: number;
  maxFile: number;
}

/** Docker's `local` driver's defaults: 100 MiB at most a container (moat does not compress). */
export const LOG_DEFAULTS = { maxSize: 20 * 1024 * 1024, maxFile: 5 } as const;

/** A file holds a few whole records at least; a reader opens at most this many files. */
export const LOG_LIMITS = { minSize: 64 * 1024, maxFile: 100 } as const;

/** The /v1 schema of `options.log`. */
export const logOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxSize: { type: 'integer', minimum: LOG_LIMITS.minSize, maximum: Number.MAX_SAFE_INTEGER },
    maxFile: { type: 'integer', minimum: 1, maximum: LOG_LIMITS.maxFile },
  },
} as const;

export function logConfigOf(o: LogOptions | undefined): LogConfig {
  return {
    type: 'local',
    maxSize: o?.maxSize ?? LOG_DEFAULTS.maxSize,
    maxFile: o?.maxFile ?? LOG_DEFAULTS.maxFile,
  };
}

const HINT = `moat's log takes --log-opt max-size=SIZE (default 20m, at least 64k) and --log-opt max-file=N (default ${LOG_DEFAULTS.maxFile}, at most ${LOG_LIMITS.maxFile})`;

/**
 * A log driver and its options as Docker names them (`--log-driver`, `--log-opt KEY=VALUE`):
 * `local`, or `json-file` taken as `local` (both keep a log `docker logs` reads, with the same
 * two options); anything else is refused rather than dropped.
 */
export function parseLogOptions(
  driver: string | undefined,
  opts: Record<string, string>,
): LogOptions | undefined {
  if (driver !== undefined && driver !== '' && driver !== 'local' && driver !== 'json-file') {
    const why =
      driver === 'none'
        ? 'moat always keeps a log: docker logs and attach read it (limit it with --log-opt max-size and max-file)'
        : "moat keeps each container's output in a log file of its own (the local driver; json-file is taken as local)";
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `--log-driver ${driver.slice(0, 40)} is not supported by moat: ${why}`,
      { hint: HINT },
    );
  }
  const o: LogOptions = {};
  for (const [key, value] of Object.entries(opts)) {
    if (key === 'max-size') {
      let n: number;
      try {
        n = parseBytes(value);
      } catch {
        throw new RuntimeError(
          'RUNTIME_INVALID_OPTION',
          `--log-opt max-size=${value.slice(0, 40)}: not a size`,
          {
            hint: 'a number with an optional unit: 512k, 10m, 1g',
          },
        );
      }
      if (n < LOG_LIMITS.minSize)
        throw new RuntimeError(
          'RUNTIME_INVALID_OPTION',
          `--log-opt max-size=${value} is below the minimum of 64k`,
          { hint: HINT },
        );
      o.maxSize = n;
    } else if (key === 'max-file') {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 1 || n > LOG_LIMITS.maxFile)
        throw new RuntimeError(
          'RUNTIME_INVALID_OPTION',
          `--log-opt max-file=${value.slice(0, 40)}: must be a whole number from 1 to ${LOG_LIMITS.maxFile}`,
          { hint: HINT },
        );
      o.maxFile = n;
    } else {
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `--log-opt ${key.slice(0, 40)} is not supported by moat`,
        {
          hint: HINT,
        },
      );
    }
  }
  return Object.keys(o).length ? o : undefined;
}

/** `--log-opt KEY=VALUE` flags as a map (a later value wins, as with docker). */
export function logOptsFromFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --log-opt "${f.slice(0, 60)}"`, {
        hint: 'use --log-opt KEY=VALUE, e.g. --log-opt max-size=10m',
      });
    out[f.slice(0, i)] = f.slice(i + 1);
  }
  return out;
}

/** A size as Docker's options write it: 20m rather than 20971520. */
function sizeText(n: number): string {
  for (const [unit, k] of [
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ] as const)
    if (n % k === 0) return `${n / k}${unit}`;
  return String(n);
}

/** HostConfig.LogConfig of Docker's inspect. */
export function dockerLogConfig(c: LogConfig): { Type: string; Config: Record<string, string> } {
  return { Type: c.type, Config: { 'max-size': sizeText(c.maxSize), 'max-file': String(c.maxFile) } };
}
