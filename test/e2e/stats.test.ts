/**
 * Issue 15: moat stats, and docker stats --format json against `moat system service`, with real
 * values: the CPU a busy container uses, its memory, its tasks, the block I/O its processes did
 * (a shell writing to its root file system); NET I/O 0B / 0B (loopback only, which docker does
 * not count). One sample (--no-stream), JSON lines, a template, and a refreshing stream.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { bin, env, IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
const busy = uniq('stats-busy');
const writer = uniq('stats-writer');
const stopped = uniq('stats-stopped');

interface Row {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}
const jsonRows = (out: string): Row[] =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
/** 1.5kB, 2MB, 12MiB as bytes. */
const bytes = (s: string) => {
  const m = /^([\d.]+)([kKMG]?i?B)$/.exec(s.trim());
  if (!m) throw new Error(`not a size: ${s}`);
  const unit: Record<string, number> = {
    B: 1,
    kB: 1e3,
    MB: 1e6,
    GB: 1e9,
    KiB: 1024,
    MiB: 2 ** 20,
    GiB: 2 ** 30,
  };
  return Number(m[1]) * unit[m[2]];
};

beforeAll(async () => {
  w = mainWorld('stats');
  svc = await startService(w);
  const runs = [
    ['run', '-d', '--name', busy, '--memory', '64m', IMAGE, 'sh', '-c', 'while :; do :; done'],
    // the shell itself writes (a builtin echo), so the bytes are its own, and stay counted as it
    // becomes sleep (busybox sh execs the last command)
    [
      'run',
      '-d',
      '--name',
      writer,
      '--read-write',
      IMAGE,
      'sh',
      '-c',
      'i=0; while [ $i -lt 30000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; i=$((i+1)); done > /f; sync; sleep 300',
    ],
    ['create', '--name', stopped, IMAGE, 'true'],
  ];
  for (const args of runs) {
    const r = await moat(args);
    expect(r.code, r.stderr).toBe(0);
  }
  await new Promise((r) => setTimeout(r, 1500));
});
afterAll(async () => {
  await moat(['rm', '-f', busy, writer, stopped]);
  if (svc) await stopService(svc);
});

describe('moat stats --no-stream', () => {
  it('docker’s table: a busy container’s CPU %, its memory over 64MiB, its tasks', async () => {
    const r = await moat(['stats', '--no-stream', busy, stopped]);
    expect(r.code, r.stderr).toBe(0);
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    expect(head.split(/\s{2,}/)).toEqual([
      'CONTAINER ID',
      'NAME',
      'CPU %',
      'MEM USAGE / LIMIT',
      'MEM %',
      'NET I/O',
      'BLOCK I/O',
      'PIDS',
    ]);
    const busyRow = rows.find((l) => l.includes(busy))!.split(/\s{2,}/);
    expect(busyRow[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(Number(busyRow[2].replace('%', ''))).toBeGreaterThan(20); // a shell spinning
    expect(busyRow[3]).toMatch(/^[\d.]+(KiB|MiB) \/ 64MiB$/);
    const stoppedRow = rows.find((l) => l.includes(stopped))!.split(/\s{2,}/);
    expect(stoppedRow.slice(2)).toEqual(['0.00%', '0B / 0B', '0.00%', '0B / 0B', '0B / 0B', '0']);
  });

  it('--format json: one object a line, docker’s keys; block I/O of the writer', async () => {
    const r = await moat(['stats', '--no-stream', '--format', 'json', writer, busy]);
    expect(r.code, r.stderr).toBe(0);
    const rows = jsonRows(r.stdout);
    expect(rows.map((x) => x.Name)).toEqual([writer, busy]);
    expect(Object.keys(rows[0])).toEqual([
      'BlockIO',
      'CPUPerc',
      'Container',
      'ID',
      'MemPerc',
      'MemUsage',
      'Name',
      'NetIO',
      'PIDs',
    ]);
    const [, written] = rows[0].BlockIO.split(' / ');
    expect(bytes(written)).toBeGreaterThan(1_000_000); // 2.1MB through the page cache to disk
    expect(rows[0].NetIO).toBe('0B / 0B');
    expect(rows[0].PIDs).toBe('1'); // sh became sleep (busybox execs the last command): its I/O stays counted
  });

  it('a template, `table` with docker’s headers; no names: the running containers', async () => {
    const t = await moat(['stats', '--no-stream', '--format', '{{.Name}}: {{.PIDs}}', busy]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe(`${busy}: 1\n`);
    const table = await moat(['stats', '--no-stream', '--format', 'table {{.Name}}\t{{.MemPerc}}']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+MEM %$/);
    expect(table.stdout).toContain(busy);
    expect(table.stdout).not.toContain(stopped);
    const bad = await moat(['stats', '--no-stream', '--format', '{{.Nope}}', busy]);
    expect(bad.code).toBe(2);
  });

  it('an unknown container: its error, the others still shown, exit 1', async () => {
    const r = await moat(['stats', '--no-stream', '--format', '{{.Name}}', 'no-such-container-here', busy]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-container-here.*\[RUNTIME_CONTAINER_NOT_FOUND\]/);
    expect(r.stdout).toBe(`${busy}\n`);
  });
});

describe('moat stats, streaming', () => {
  it('a table a second until interrupted', async () => {
    const child = spawn(process.execPath, [bin(), 'stats', '--format', '{{.Name}} {{.CPUPerc}}', busy], {
      env: env(),
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((r) => setTimeout(r, 3500));
    child.kill('SIGINT');
    await new Promise((r) => child.once('close', r));
    const lines = out.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toBe(`${busy} 0.00%`); // the first table has no previous sample
    expect(Number(lines[2].split(' ')[1].replace('%', ''))).toBeGreaterThan(20);
  });
});

describe('docker stats against the service', () => {
  it('--no-stream --format json: real values in docker’s own columns', () => {
    const r = docker(svc, w, ['stats', '--no-stream', '--format', 'json', busy, writer]);
    expect(r.code, r.stderr).toBe(0);
    const rows = jsonRows(r.stdout);
    const b = rows.find((x) => x.Name === busy)!;
    expect(Number(b.CPUPerc.replace('%', ''))).toBeGreaterThan(20);
    expect(b.MemUsage).toMatch(/ \/ 64MiB$/);
    expect(b.PIDs).toBe('1');
    const wr = rows.find((x) => x.Name === writer)!;
    expect(bytes(wr.BlockIO.split(' / ')[1])).toBeGreaterThan(1_000_000);
    expect(wr.NetIO).toBe('0B / 0B');
  });

  it('--no-stream: docker’s table', () => {
    const r = docker(svc, w, ['stats', '--no-stream', writer]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(
      /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/,
    );
    expect(r.stdout).toMatch(new RegExp(`${writer}\\s+[\\d.]+%\\s+[\\d.]+\\w+ / [\\d.]+GiB`));
  });
});
