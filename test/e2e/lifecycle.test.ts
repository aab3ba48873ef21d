/** The container lifecycle through the CLI: run, create/start, logs, exec, stop, kill, rm, wait. */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { inject } from 'vitest';
import { FILE_HEADER, parseRecordHeader, REC_HEADER, REC_OVERHEAD } from '../../src/runtime/logs/format.js';
import { IMAGE, moat, uniq } from './moat.js';

/** The records of a log file in moat's format (src/runtime/logs/format.ts). */
function logRecords(file: string): { log: string; stream: string; time: number }[] {
  const bytes = readFileSync(file);
  const out: { log: string; stream: string; time: number }[] = [];
  for (let at = FILE_HEADER; at < bytes.length;) {
    const h = parseRecordHeader(bytes, at);
    if (!h) throw new Error(`no record at ${at} of ${file}`);
    const log = bytes.subarray(at + REC_HEADER, at + REC_HEADER + h.length).toString();
    out.push({ log, stream: h.stream, time: Number(h.timeNs / 1_000_000n) });
    at += REC_OVERHEAD + h.length;
  }
  return out;
}

async function ps(
  all = true,
): Promise<{ Id: string; Names: string; State: string; ExitCode: number | null }[]> {
  const r = await moat(['ps', ...(all ? ['-a'] : []), '--format', 'json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { Id: string; Names: string; State: string; ExitCode: number | null }[];
}

describe('lifecycle', () => {
  it('moat run exits with the container status and passes output through', async () => {
    const r = await moat(['run', '--rm', IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('a missing command exits 127 with a clear error', async () => {
    const r = await moat(['run', '--rm', IMAGE, '/no/such/binary']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/no such file|not found/);
  });

  it('--rm leaves nothing behind: no record, no directory, no runc state', async () => {
    const name = uniq('rm');
    const r = await moat(['run', '--rm', '--name', name, IMAGE, 'true']);
    expect(r.code).toBe(0);
    expect((await ps()).some((c) => c.Names === name)).toBe(false);
    const e = inject('moatEnv');
    const dirs = readdirSync(path.join(e.XDG_DATA_HOME, 'moat/containers'));
    const recs = dirs
      .filter((d) => existsSync(path.join(e.XDG_DATA_HOME, 'moat/containers', d, 'container.json')))
      .map(
        (d) =>
          JSON.parse(
            readFileSync(path.join(e.XDG_DATA_HOME, 'moat/containers', d, 'container.json'), 'utf8'),
          ) as { name: string },
      );
    expect(recs.some((c) => c.name === name)).toBe(false);
    expect(dirs.some((d) => d.startsWith('.removing-') || d.endsWith('.tmp'))).toBe(false);
  });

  it('detached: run -d, logs, exec, stop, rm', async () => {
    const name = uniq('det');
    const r = await moat([
      'run',
      '-d',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'echo hello; echo oops >&2; trap "echo bye; exit 3" TERM; while :; do sleep 0.1; done',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const id = r.stdout.trim();
    const running = (await ps(false)).find((c) => c.Id === id);
    expect(running?.State).toBe('running');

    // logs keeps stdout and stderr apart
    let logs = await moat(['logs', name]);
    for (let i = 0; i < 50 && !logs.stdout.includes('hello'); i++) logs = await moat(['logs', name]);
    expect(logs.stdout).toBe('hello\n');
    expect(logs.stderr).toBe('oops\n');
    // Stored as written (no encoding), each record with its stream and time.
    const raw = logRecords(
      path.join(inject('moatEnv').XDG_DATA_HOME, 'moat/containers', id, 'container.log'),
    );
    expect(raw.find((e) => e.stream === 'stdout')).toMatchObject({ log: 'hello\n' });
    expect(raw.find((e) => e.stream === 'stderr')).toMatchObject({ log: 'oops\n' });
    expect(raw[0].time).toBeGreaterThan(Date.now() - 600_000);

    const ex = await moat([
      'exec',
      '-e',
      'X=42',
      name,
      'sh',
      '-c',
      'echo $X; cat /proc/1/cmdline | tr "\\0" " "; exit 5',
    ]);
    expect(ex.code).toBe(5);
    expect(ex.stdout).toMatch(/^42\nsh -c echo hello/);

    const st = await moat(['stop', '-t', '5', name]);
    expect(st.code).toBe(0);
    const after = (await ps()).find((c) => c.Id === id);
    expect(after?.State).toBe('exited');
    expect(after?.ExitCode).toBe(3);
    expect((await moat(['logs', name])).stdout).toBe('hello\nbye\n');
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('3');

    expect((await moat(['rm', name])).code).toBe(0);
    expect((await ps()).some((c) => c.Id === id)).toBe(false);
    const gone = await moat(['logs', name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/RUNTIME_CONTAINER_NOT_FOUND/);
  });

  it('a detached container keeps its exit code after the CLI returned', async () => {
    const name = uniq('code');
    const r = await moat(['run', '-d', '--name', name, IMAGE, 'sh', '-c', 'sleep 0.3; exit 42']);
    expect(r.code).toBe(0);
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('42');
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as { exitCode: number; status: string }[];
    expect(insp[0]).toMatchObject({ status: 'exited', exitCode: 42 });
    await moat(['rm', name]);
  });

  it('create + start + kill -s + rm -f', async () => {
    const name = uniq('cs');
    const c = await moat(['create', '--name', name, '--init', IMAGE, 'sleep', '30']);
    expect(c.code).toBe(0);
    expect((await ps()).find((x) => x.Names === name)?.State).toBe('created');
    expect((await moat(['start', name])).code).toBe(0);
    expect((await ps(false)).find((x) => x.Names === name)?.State).toBe('running');
    expect((await moat(['kill', '-s', 'TERM', name])).code).toBe(0);
    const w = await moat(['wait', name]);
    expect(w.stdout.trim()).toBe('143'); // tini forwards TERM; sleep dies of it
    expect((await moat(['start', name])).code).toBe(0);
    const rmNoForce = await moat(['rm', name]);
    expect(rmNoForce.code).toBe(1);
    expect(rmNoForce.stderr).toMatch(/RUNTIME_INVALID_STATE/);
    expect((await moat(['rm', '-f', name])).code).toBe(0);
    expect((await ps()).some((x) => x.Names === name)).toBe(false);
  });

  it("docker's container management names: moat container run, ls/list/ps, logs, exec, stop, rm", async () => {
    const name = uniq('grp');
    const r = await moat(['container', 'run', '-d', '--name', name, IMAGE, 'sh', '-c', 'echo up; sleep 30']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    for (const ls of ['ls', 'list', 'ps']) {
      const l = await moat(['container', ls, '-q', '--no-trunc', '--filter', `name=${name}`]);
      expect(l.stdout, ls).toBe(`${id}\n`);
    }
    expect((await moat(['container', 'exec', name, 'echo', 'in'])).stdout).toBe('in\n');
    expect((await moat(['container', 'logs', name])).stdout).toBe('up\n');
    expect((await moat(['container', 'stop', '-t', '0', name])).code).toBe(0);
    expect((await moat(['container', 'inspect', '-f', '{{.State.Status}}', name])).stdout).toBe('exited\n');
    expect((await moat(['container', 'rm', name])).code).toBe(0);
    expect((await moat(['container', 'ls', '-a', '-q', '--filter', `name=${name}`])).stdout).toBe('');
  });

  it('names are unique; unknown containers and flags get clear errors', async () => {
    const name = uniq('dup');
    expect((await moat(['create', '--name', name, IMAGE, 'true'])).code).toBe(0);
    const dup = await moat(['create', '--name', name, IMAGE, 'true']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/RUNTIME_NAME_IN_USE/);
    await moat(['rm', name]);
    const nf = await moat(['stop', 'no-such-container']);
    expect(nf.stderr).toMatch(/RUNTIME_CONTAINER_NOT_FOUND/);
    const flag = await moat(['run', '--no-such-flag', IMAGE]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option/);
    const json = await moat(['ps', '--format', 'yaml']);
    expect(json.code).toBe(2);
  });

  it('concurrent stop and rm of one container are serialised', async () => {
    const name = uniq('conc');
    await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '30']);
    const [a, b] = await Promise.all([moat(['stop', '-t', '1', name]), moat(['rm', '-f', name])]);
    expect(a.code === 0 || /NOT_FOUND/.test(a.stderr)).toBe(true);
    expect(b.code).toBe(0);
    expect((await ps()).some((x) => x.Names === name)).toBe(false);
  });

  it('ps reconciles a container whose monitor died', async () => {
    const name = uniq('crash');
    const r = await moat(['run', '-d', '--name', name, IMAGE, 'sleep', '30']);
    const id = r.stdout.trim();
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as { monitorPid: number; pid: number }[];
    process.kill(insp[0].monitorPid, 'SIGKILL');
    // the container's init goes too (as after a crash of the whole session)
    await moat(['kill', name]).catch(() => {});
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(insp[0].pid, 0);
        await new Promise((res) => setTimeout(res, 100));
      } catch {
        break;
      }
    }
    const c = (await ps()).find((x) => x.Id === id);
    expect(c?.State).toBe('exited');
    expect((await moat(['rm', name])).code).toBe(0);
  });
});
