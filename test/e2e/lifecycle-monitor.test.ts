/**
 * A container whose monitor was killed: it runs on, `ps` keeps the time it started, and when it
 * ends (moat stop, moat kill) the status it really ended with is recorded — 137 after SIGKILL,
 * 143 after SIGTERM — not an unknown 255.
 */
import { describe, expect, it } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

interface Inspect {
  status: string;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  monitorPid: number;
}

async function inspect(name: string): Promise<Inspect> {
  const r = await moat(['inspect', name]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Inspect[])[0];
}

async function psRow(name: string): Promise<{ State: string; Status: string; ExitCode: number | null }> {
  const r = await moat(['ps', '-a', '--format', 'json']);
  const row = (
    JSON.parse(r.stdout) as { Names: string; State: string; Status: string; ExitCode: number | null }[]
  ).find((c) => c.Names === name);
  expect(row).toBeDefined();
  return row!;
}

/** Start a container and kill its monitor, as a crash would. */
async function orphan(name: string, flags: string[], cmd: string[]): Promise<Inspect> {
  const r = await moat(['run', '-d', '--name', name, ...flags, IMAGE, ...cmd]);
  expect(r.code, r.stderr).toBe(0);
  const before = await inspect(name);
  process.kill(before.monitorPid, 'SIGKILL');
  // Long enough that a start time reset to "now" would show.
  await new Promise((res) => setTimeout(res, 2500));
  return before;
}

describe('a container whose monitor was killed', () => {
  it('ps: still running, with the time it started; stop records 137 (SIGKILL after the timeout)', async () => {
    const name = uniq('orphan-stop');
    // sleep as PID 1 ignores SIGTERM: stop ends it with SIGKILL after -t.
    const before = await orphan(name, [], ['sleep', '300']);
    const row = await psRow(name);
    expect(row.State).toBe('running');
    expect(row.Status).toMatch(/^Up [2-9] seconds$/);
    expect((await inspect(name)).startedAt).toBe(before.startedAt);
    const st = await moat(['stop', '-t', '1', name]);
    expect(st.code, st.stderr).toBe(0);
    const after = await inspect(name);
    expect(after).toMatchObject({ status: 'exited', exitCode: 137, startedAt: before.startedAt });
    expect((await psRow(name)).ExitCode).toBe(137);
    expect((await moat(['rm', name])).code).toBe(0);
  });

  it('kill -s TERM of a container that dies of it records 143', async () => {
    const name = uniq('orphan-term');
    // With --init, the init (moat-init, or tini) passes SIGTERM to sleep, which dies of it; the
    // init exits 128+15.
    await orphan(name, ['--init'], ['sleep', '300']);
    expect((await moat(['kill', '-s', 'TERM', name])).code).toBe(0);
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('143');
    expect((await inspect(name)).exitCode).toBe(143);
    expect((await moat(['rm', name])).code).toBe(0);
  });

  it('a container that handles the signal keeps its own status', async () => {
    const name = uniq('orphan-trap');
    await orphan(name, [], ['sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done']);
    const st = await moat(['stop', '-t', '5', name]);
    expect(st.code, st.stderr).toBe(0);
    expect((await inspect(name)).exitCode).toBe(3);
    expect((await moat(['rm', name])).code).toBe(0);
  });
});
