/**
 * Damaged container state: a truncated container.json stays visible (ps -a: Broken, with a
 * warning), keeps its name, and `rm -f` removes it — upper layer owned by subordinate IDs
 * included. `moat system fsck` finds what is left inconsistent and `--repair` removes it.
 * In a store of its own: --repair acts on everything it finds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IMAGE, uniq } from './moat.js';
import { world, type World } from './registry-helpers.js';

let w: World;
let containers: string;
const strays: ChildProcess[] = [];

beforeAll(async () => {
  w = world('fsck');
  containers = path.join(w.env.XDG_DATA_HOME!, 'moat/containers');
  const r = await w.moat(['import', path.join(inject('moatEnv').base, 'rootfs.tar'), IMAGE]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => {
  for (const p of strays) p.kill('SIGKILL');
});

/** A container that ran and left a file owned by a subordinate ID in its upper layer. */
async function containerWithUpper(name: string): Promise<string> {
  const r = await w.moat([
    'run',
    '--name',
    name,
    '--read-write',
    '--cap-add',
    'CHOWN',
    IMAGE,
    'sh',
    '-c',
    'mkdir /data && echo x > /data/f && chown -R 1000:1000 /data',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const ps = JSON.parse((await w.moat(['ps', '-a', '--format', 'json'])).stdout) as {
    Id: string;
    Names: string;
  }[];
  const id = ps.find((c) => c.Names === name)!.Id;
  expect(statSync(path.join(containers, id, 'upper/data/f')).uid).not.toBe(process.getuid!());
  return id;
}

function truncate(id: string): void {
  const file = path.join(containers, id, 'container.json');
  writeFileSync(file, readFileSync(file, 'utf8').slice(0, 200));
}

describe('a container whose record is truncated', () => {
  it('shows as Broken in ps -a with a warning, keeps its name, and rm -f removes it', async () => {
    const name = uniq('broken');
    const id = await containerWithUpper(name);
    truncate(id);

    const ps = await w.moat(['ps', '-a']);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(new RegExp(`${id.slice(0, 12)}.*Broken.*${name}`));
    expect(ps.stderr).toMatch(/warning: container .* has a broken record/);

    const rm = await w.moat(['rm', name]);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/RUNTIME_CORRUPT_STATE/);
    expect(rm.stderr).toMatch(/rm -f/);
    const start = await w.moat(['start', name]);
    expect(start.stderr).toMatch(/RUNTIME_CORRUPT_STATE/);

    // The name stays taken while the broken container exists.
    const dup = await w.moat(['create', '--name', name, IMAGE, 'true']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/RUNTIME_NAME_IN_USE/);

    const rmf = await w.moat(['rm', '-f', name]);
    expect(rmf.code, rmf.stderr).toBe(0);
    expect(existsSync(path.join(containers, id))).toBe(false);
    expect(readdirSync(containers).filter((d) => d.includes(id))).toEqual([]);
    expect((await w.moat(['ps', '-a'])).stdout).not.toContain(id.slice(0, 12));
  });
});

describe('moat system fsck', () => {
  it('reports what is broken or left over (exit 1); --repair removes it; then it is clean', async () => {
    // A broken record (with subordinate-owned files), and a container without its bundle.
    const brokenId = await containerWithUpper(uniq('fsck-broken'));
    truncate(brokenId);
    const okName = uniq('fsck-ok');
    expect((await w.moat(['create', '--name', okName, IMAGE, 'true'])).code).toBe(0);
    const lost = (await w.moat(['create', '--name', uniq('fsck-lost'), IMAGE, 'true'])).stdout.trim();
    rmSync(path.join(containers, lost, 'bundle', 'config.json'));
    // An interrupted create (an hour old) and an interrupted removal (no one holds its lock).
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(() => randomBytes(32).toString('hex'));
    const tmp = path.join(containers, `${a}.tmp`);
    mkdirSync(path.join(tmp, 'upper'), { recursive: true });
    utimesSync(tmp, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const removing = path.join(containers, `.removing-${b}`);
    mkdirSync(removing);
    // runc state of no container.
    const runcState = path.join(w.env.XDG_RUNTIME_DIR!, 'moat/runc', c);
    mkdirSync(runcState, { recursive: true });
    writeFileSync(path.join(runcState, 'state.json'), JSON.stringify({ id: c, init_process_pid: 999999999 }));
    // A process still running for a container that is gone, in a cgroup that no container owns.
    const stray = spawn('sh', ['-c', 'sleep 120; :', path.join(containers, d, 'bundle')], {
      stdio: 'ignore',
    });
    strays.push(stray);
    const info = JSON.parse((await w.moat(['info', '--format', 'json'])).stdout) as {
      cgroups: { delegated: { memory: string } };
    };
    const cg = path.join(info.cgroups.delegated.memory, `moat-${e.slice(0, 16)}`);
    mkdirSync(cg);
    writeFileSync(path.join(cg, 'cgroup.procs'), String(stray.pid));

    const found = await w.moat(['system', 'fsck', '--format', 'json']);
    expect(found.code).toBe(1);
    const report = JSON.parse(found.stdout) as { clean: boolean; problems: { kind: string; what: string }[] };
    expect(report.clean).toBe(false);
    const kinds = (k: string) => report.problems.filter((p) => p.kind === k).map((p) => p.what);
    expect(kinds('broken-record')).toEqual([brokenId]);
    expect(kinds('incomplete')).toEqual([lost]);
    expect(kinds('leftover-dir').sort()).toEqual([removing, tmp].sort());
    expect(kinds('runc-state')).toEqual([c]);
    expect(kinds('process')).toEqual([String(stray.pid)]);
    expect(kinds('cgroup')).toContain(cg);
    const text = await w.moat(['system', 'fsck']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/broken record: .*container.json/);
    expect(text.stdout).toMatch(/--repair/);

    const exited = new Promise((r) => stray.once('exit', r));
    const repair = await w.moat(['system', 'fsck', '--repair']);
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/— removed/);
    expect(repair.stdout).toMatch(/— killed/);
    await exited;
    for (const p of [
      path.join(containers, brokenId),
      path.join(containers, lost),
      tmp,
      removing,
      runcState,
      cg,
    ])
      expect(existsSync(p), p).toBe(false);
    // What was sound is untouched.
    const ps = JSON.parse((await w.moat(['ps', '-a', '--format', 'json'])).stdout) as { Names: string }[];
    expect(ps.map((c) => c.Names)).toContain(okName);

    const after = await w.moat(['system', 'fsck', '--format', 'json']);
    const left = JSON.parse(after.stdout) as { clean: boolean; problems: { kind: string; what: string }[] };
    // Cgroups are per user, not per store: ones another store (another test run) leaked may
    // show; nothing of this store's does.
    expect(left.problems.filter((p) => p.kind !== 'cgroup')).toEqual([]);
    expect(left.problems.map((p) => p.what)).not.toContain(cg);
    expect(after.code).toBe(left.clean ? 0 : 1);
  });
});
