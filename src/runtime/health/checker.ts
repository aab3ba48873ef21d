/**
 * The health checks of a running container, run by its monitor: the configured command through
 * exec (inside the container's cgroups, as any exec) every interval, its output kept bounded, a
 * check that outlives its timeout killed and counted as failed. The state (health/config.ts:
 * nextHealth) goes into the record after each check; a change of status is an event, and an
 * unhealthy container with --health-on-failure kill is killed (its restart policy then acts).
 */
import { Writable } from 'node:stream';
import { containerEvent } from '../events/index.js';
import { execInContainer, type ExecDeps } from '../exec.js';
import type { ContainerStore } from '../state.js';
import { record } from '../supervise/record.js';
import { HEALTH_OUTPUT_MAX, nextHealth, type HealthConfig, type HealthState } from './config.js';

class Capped extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    if (this.text.length < HEALTH_OUTPUT_MAX)
      this.text += chunk.toString('utf8').slice(0, HEALTH_OUTPUT_MAX - this.text.length);
    cb();
  }
}

export interface HealthDeps extends ExecDeps {
  store: ContainerStore;
}

/** Starts the checks; returns the function that stops them (the container ended). */
export function startHealthChecks(
  deps: HealthDeps,
  id: string,
  c: HealthConfig,
  o: { startedAtMs: number; kill: () => void; log?: (msg: string) => void },
): () => void {
  let state: HealthState = { status: 'starting', failingStreak: 0, log: [] };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const current = new AbortController();

  const once = async (): Promise<void> => {
    const rec = await deps.store.load(id).catch(() => undefined);
    // A paused container cannot answer: no check runs while it is frozen (its failures would
    // make it unhealthy, and --health-on-failure kill would kill it, for being paused).
    if (!rec || rec.status !== 'running' || !rec.pid || rec.paused) return;
    const out = new Capped();
    const start = new Date();
    const timeout = new AbortController();
    const t = setTimeout(() => timeout.abort(), c.timeoutMs);
    const abortAll = () => timeout.abort();
    current.signal.addEventListener('abort', abortAll, { once: true });
    let exitCode: number;
    try {
      exitCode = await execInContainer(deps, rec, c.cmd, {
        env: [],
        stdio: { stdout: out, stderr: out },
        abort: timeout.signal,
      });
    } catch (e) {
      exitCode = -1;
      out.text += (e as Error).message.slice(0, HEALTH_OUTPUT_MAX);
    } finally {
      clearTimeout(t);
      current.signal.removeEventListener('abort', abortAll);
    }
    if (stopped) return;
    if (timeout.signal.aborted) {
      exitCode = -1;
      out.text = `health check exceeded its timeout (${c.timeoutMs} ms)`;
    }
    const before = state.status;
    state = nextHealth(
      state,
      { start: start.toISOString(), end: new Date().toISOString(), exitCode, output: out.text },
      c,
      o.startedAtMs,
    );
    const kept = await record(deps, id, (r) => (r.health = state)).catch(() => false);
    if (!kept) return;
    if (state.status !== before) {
      containerEvent(deps.paths.data, `health_status: ${state.status}`, rec);
      if (state.status === 'unhealthy' && c.onFailure === 'kill') {
        o.log?.('unhealthy: killing the container (--health-on-failure kill)');
        o.kill();
      }
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void once()
        .catch((e: unknown) => o.log?.(`health check failed to run: ${String(e)}`))
        .finally(schedule);
    }, c.intervalMs);
  };
  void record(deps, id, (r) => (r.health = state)).catch(() => false);
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    current.abort();
  };
}
