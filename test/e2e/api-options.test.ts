/**
 * Issue 11, "options: refused or applied, never silently dropped", with the real docker CLI
 * against `moat system service`: `--mount`, `--shm-size`, `--cpu-quota`, `--memory-swap`,
 * `--group-add`, `--sysctl` and `--oom-score-adj` are applied (checked from inside the
 * container); a sysctl that is not namespaced, `--cpuset-cpus` where the cpuset controller is not
 * delegated (this host) and a tmpfs with `suid` are refused with a message the CLI prints.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, http, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;

beforeAll(async () => {
  w = mainWorld('api-options');
  svc = await startService(w);
});
afterAll(async () => {
  if (svc) await stopService(svc);
});

/** `docker run --rm [flags] IMAGE sh -c SCRIPT`: its output, or the CLI's error. */
const run = (flags: string[], script: string) =>
  docker(svc, w, ['run', '--rm', ...flags, IMAGE, 'sh', '-c', script]);

describe('docker run options moat applies', () => {
  it('--mount type=bind,readonly: the host directory, read-only', () => {
    const dir = path.join(w.env.HOME!, 'mounted');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'in.txt'), 'from host\n');
    const r = run(
      ['--mount', `type=bind,source=${dir},target=/data,readonly`],
      'cat /data/in.txt; touch /data/x 2>/dev/null; echo write=$?',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from host\nwrite=1\n');
  });

  it('--mount type=tmpfs with a size and a mode', () => {
    const r = run(
      ['--mount', 'type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1770'],
      'df -k /scratch | tail -n 1; stat -c %a /scratch',
    );
    expect(r.stderr).toBe('');
    const [df, mode] = r.stdout.trim().split('\n');
    expect(df.trim().split(/\s+/)[1]).toBe('2048');
    expect(mode).toBe('1770');
  });

  it('--shm-size: the size of /dev/shm', () => {
    const r = run(['--shm-size', '128m'], 'df -k /dev/shm | tail -n 1');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split(/\s+/)[1]).toBe(String(128 * 1024));
  });

  it('--cpu-quota and --cpu-period: the CFS quota of the container’s cpu cgroup', () => {
    const r = run(
      ['--cpu-quota', '25000', '--cpu-period', '50000'],
      'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['25000', '50000']);
  });

  it('--memory-swap: memory plus swap of the memory cgroup', () => {
    const r = run(
      ['--memory', '64m', '--memory-swap', '128m'],
      'cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(String(128 * 1024 * 1024));
  });

  it('--group-add: a GID and a group of the image, as supplementary groups', () => {
    const r = run(['--group-add', '1234', '--group-add', 'app'], 'id -G');
    expect(r.stderr).toBe('');
    expect(
      r.stdout
        .trim()
        .split(' ')
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([0, 1000, 1234]);
    const none = run(['--group-add', 'nosuchgroup'], 'true');
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(/--group-add nosuchgroup: no such group in the image's \/etc\/group/);
  });

  it('--sysctl net.ipv4.ping_group_range in the container’s network namespace', () => {
    const r = run(
      ['--sysctl', 'net.ipv4.ping_group_range=0 1000'],
      'cat /proc/sys/net/ipv4/ping_group_range',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split(/\s+/)).toEqual(['0', '1000']);
  });

  it('--oom-score-adj raises the container’s OOM score; a negative one is refused', () => {
    const r = run(['--oom-score-adj', '500'], 'cat /proc/self/oom_score_adj');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('500');
    const low = run(['--oom-score-adj', '-500'], 'true');
    expect(low.code).toBe(125);
    expect(low.stderr).toMatch(
      /--oom-score-adj -500 is refused: a rootless container can only raise its OOM score/,
    );
  });
});

describe('the moat CLI’s flags: the same options', () => {
  it('--mount, --shm-size, --sysctl, --group-add, --tmpfs PATH:exec', async () => {
    const dir = path.join(w.env.HOME!, 'mounted-cli');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'in.txt'), 'from host\n');
    const r = await w.moat([
      'run',
      '--rm',
      '--mount',
      `type=bind,src=${dir},dst=/data,ro`,
      '--shm-size',
      '32m',
      '--sysctl',
      'net.ipv4.ping_group_range=0 1000',
      '--group-add',
      'app',
      '--tmpfs',
      '/x:exec',
      IMAGE,
      'sh',
      '-c',
      'cat /data/in.txt; df -k /dev/shm | tail -n 1; cat /proc/sys/net/ipv4/ping_group_range; id -G; grep " /x " /proc/mounts',
    ]);
    expect(r.stderr).toBe('');
    const [data, shm, ping, groups, x] = r.stdout.trim().split('\n');
    expect(data).toBe('from host');
    expect(shm.trim().split(/\s+/)[1]).toBe(String(32 * 1024));
    expect(ping.split(/\s+/)).toEqual(['0', '1000']);
    expect(groups).toBe('0 1000');
    expect(x).not.toMatch(/noexec/);
    const suid = await w.moat([
      'run',
      '--rm',
      '--mount',
      'type=tmpfs,dst=/x,tmpfs-size=1m',
      '--tmpfs',
      '/y:suid',
      IMAGE,
      'true',
    ]);
    expect(suid.code).toBe(2);
    expect(suid.stderr).toMatch(/tmpfs option "suid" in "\/y:suid" is refused/);
  });
});

describe('docker run options moat refuses, with a message the CLI prints', () => {
  it('--cpuset-cpus where the cpuset controller is not delegated', () => {
    const r = run(['--cpuset-cpus', '0'], 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/Error response from daemon: cannot enforce --cpuset-cpus: .*cpuset/);
  });

  it('--tmpfs PATH:suid (exec is allowed)', () => {
    const r = run(['--tmpfs', '/x:suid'], 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/tmpfs option "suid" in "\/x:suid" is refused: moat mounts every tmpfs nosuid/);
    const exec = run(['--tmpfs', '/x:exec'], 'grep " /x " /proc/mounts');
    expect(exec.stderr).toBe('');
    expect(exec.stdout).toMatch(/ \/x tmpfs rw,nosuid,nodev,/);
    expect(exec.stdout).not.toMatch(/noexec/);
  });

  it('a sysctl that is not namespaced (the docker CLI refuses it itself; the API and moat do too)', async () => {
    const cli = run(['--sysctl', 'kernel.core_pattern=|/tmp/x'], 'true');
    expect(cli.code).toBe(125);
    const body = JSON.stringify({
      Image: IMAGE,
      Cmd: ['true'],
      HostConfig: { Sysctls: { 'kernel.core_pattern': '|/tmp/x' } },
    });
    const api = await http(svc, 'POST', '/v1.41/containers/create', body);
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body).message).toMatch(
      /^--sysctl kernel.core_pattern is refused: it is not namespaced/,
    );
    const moat = await w.moat(['run', '--rm', '--sysctl', 'kernel.core_pattern=|/tmp/x', IMAGE, 'true']);
    expect(moat.code).toBe(2);
    expect(moat.stderr).toMatch(/--sysctl kernel.core_pattern is refused: it is not namespaced/);
  });

  it('--mount type=volume with a driver other than local', () => {
    const r = run(['--mount', 'type=volume,source=data,target=/data,volume-driver=nfs'], 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/--mount volume-driver=nfs is not supported by moat/);
  });

  it('--pid container:NAME', () => {
    const r = run(['--pid', 'container:other'], 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/--pid=container:other is not supported by moat/);
  });
});

describe("Landlock's TCP rules through the Docker API", () => {
  it('--security-opt landlock-bind=declared with --expose 7070: 7070 binds, 9090 is EACCES; a bad list is refused', () => {
    const r = run(
      ['--security-opt', 'landlock-bind=declared', '--expose', '7070'],
      'timeout 2 nc -l -p 9090 </dev/null; echo "bind9090=$?"; (sleep 5 | nc -l -p 7070 > /tmp/got &); ' +
        'c=1; for i in $(seq 30); do if echo via-7070 | nc 127.0.0.1 7070 2>/dev/null; then c=0; break; fi; sleep 0.1; done; ' +
        'echo "connect7070=$c"; for i in $(seq 30); do [ -s /tmp/got ] && break; sleep 0.1; done; cat /tmp/got',
    );
    expect(r.stdout).toBe('bind9090=1\nconnect7070=0\nvia-7070\n');
    expect(r.stderr).toBe('nc: bind: Permission denied\n');
    const bad = run(['--security-opt', 'landlock-connect=http'], 'true');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/invalid --security-opt landlock-connect=http: "http" is not a port number/);
  });
});
