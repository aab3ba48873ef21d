/**
 * Health checks: the image's HEALTHCHECK (its config's Healthcheck) and docker's run flags
 * (--health-cmd, --health-interval, --health-timeout, --health-retries, --health-start-period,
 * --no-healthcheck), resolved once when the container is planned into what its monitor runs
 * (health/checker.ts). Pure.
 */
import { RuntimeError } from '../errors.js';

/** What the user asked for (run options). Durations in milliseconds. */
export interface HealthOptions {
  /** `--health-cmd`: a shell command (docker runs it as CMD-SHELL). */
  cmd?: string;
  /** The Docker API's Test: ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]. */
  test?: string[];
  interval?: number;
  timeout?: number;
  retries?: number;
  startPeriod?: number;
  /** `--no-healthcheck`: none, whatever the image says. */
  none?: boolean;
  /** What an unhealthy container gets (podman's --health-on-failure): none, or kill (then its restart policy acts). */
  onFailure?: 'none' | 'kill';
}

/** The image config's Healthcheck (durations in nanoseconds, as docker writes them). */
export interface ImageHealthcheck {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

/** What the monitor runs. */
export interface HealthConfig {
  /** The command, as exec runs it. */
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  onFailure: 'none' | 'kill';
}

export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
} as const;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`30s`, `1m30s`, `500ms`) in milliseconds; `0` is zero. */
export function parseDuration(flag: string, v: string): number {
  const t = v.trim();
  if (t === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t))
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid ${flag} "${v}"`, {
      hint: 'a duration such as 30s, 1m30s or 500ms',
    });
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(ms);
}

function command(test: readonly string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length) return [...rest];
  if (kind === 'CMD-SHELL' && rest.length) return ['/bin/sh', '-c', rest.join(' ')];
  return undefined; // NONE, an empty test, or anything docker would not run
}

const nsToMs = (n: unknown): number | undefined =>
  typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n / 1e6) : undefined;

/** The check the container gets, or undefined for none. */
export function resolveHealth(
  opts: HealthOptions | undefined,
  image: ImageHealthcheck | null | undefined,
): HealthConfig | undefined {
  if (opts?.none) return undefined;
  if (opts?.test?.[0] === 'NONE') return undefined;
  const given =
    opts?.cmd !== undefined ? ['CMD-SHELL', opts.cmd] : opts?.test?.length ? opts.test : image?.Test;
  const cmd = given ? command(given) : undefined;
  if (!cmd) return undefined;
  const pick = (o: number | undefined, i: number | undefined, d: number) => o ?? i ?? d;
  const retries =
    opts?.retries ?? (typeof image?.Retries === 'number' && image.Retries > 0 ? image.Retries : undefined);
  const h: HealthConfig = {
    cmd,
    intervalMs: pick(opts?.interval, nsToMs(image?.Interval), HEALTH_DEFAULTS.intervalMs),
    timeoutMs: pick(opts?.timeout, nsToMs(image?.Timeout), HEALTH_DEFAULTS.timeoutMs),
    retries: retries ?? HEALTH_DEFAULTS.retries,
    startPeriodMs: pick(opts?.startPeriod, nsToMs(image?.StartPeriod), HEALTH_DEFAULTS.startPeriodMs),
    onFailure: opts?.onFailure ?? 'none',
  };
  if (h.intervalMs < 100 || h.timeoutMs < 100)
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      'health check interval and timeout must be at least 100ms',
    );
  if (!Number.isInteger(h.retries) || h.retries < 1 || h.retries > 1000)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --health-retries ${h.retries}`, {
      hint: '1 to 1000',
    });
  return h;
}

/** One check's result, kept in the record (the last few), as docker's State.Health.Log. */
export interface HealthResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  log: HealthResult[];
}

export const HEALTH_LOG_KEEP = 5;
export const HEALTH_OUTPUT_MAX = 4096;

/**
 * The state after one result (docker's rules): a success is healthy and resets the streak; a
 * failure within the start period does not count; `retries` failures in a row are unhealthy.
 */
export function nextHealth(
  prev: HealthState,
  r: HealthResult,
  c: Pick<HealthConfig, 'retries' | 'startPeriodMs'>,
  startedAtMs: number,
): HealthState {
  const log = [...prev.log, r].slice(-HEALTH_LOG_KEEP);
  if (r.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  const inStart = Date.parse(r.start) - startedAtMs < c.startPeriodMs;
  if (inStart && prev.status === 'starting') return { ...prev, log };
  const failingStreak = prev.failingStreak + 1;
  return { status: failingStreak >= c.retries ? 'unhealthy' : prev.status, failingStreak, log };
}
