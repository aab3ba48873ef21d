/**
 * Issue 17, what protects a container (`moat inspect --security`), as the non-root test user: the
 * container-runtime items of the CIS Docker Benchmark (section 5) checked against the report of a
 * default container, each both as the spec says and as its running process shows
 * (/proc/PID/status: capability sets, NoNewPrivs, Seccomp; its uid_map).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE, moat, uniq } from './moat.js';

interface Report {
  running: boolean;
  userNamespace: { uidMap: { containerID: number; hostID: number; size: number }[]; rootIsHostRoot: boolean };
  capabilities: { effective: string[]; bounding: string[]; ambient: string[] };
  noNewPrivileges: boolean;
  seccomp: { profile: string; defaultAction: string; ruleCount: number } | null;
  readOnlyRoot: boolean;
  maskedPaths: string[];
  readOnlyPaths: string[];
  namespaces: { type: string; shared?: string }[];
  mounts: { destination: string; type: string; source?: string; readonly: boolean }[];
  limits: { pids?: number; memory?: number; cpuQuota?: number; cpus?: number };
  live: {
    capEff: string[];
    capBnd: string[];
    capAmb: string[];
    noNewPrivs: boolean;
    seccompMode: number;
    uidMap: string;
  };
  mismatches: string[];
}

const names: string[] = [];
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
});

async function report(flags: string[]): Promise<Report> {
  const name = uniq('sec');
  names.push(name);
  const r = await moat(['run', '-d', '--name', name, ...flags, IMAGE, 'sleep', '300']);
  expect(r.code, r.stderr).toBe(0);
  const s = await moat(['inspect', '--security', name]);
  expect(s.code, s.stderr).toBe(0);
  return (JSON.parse(s.stdout) as Report[])[0];
}

describe('moat inspect --security: the CIS Docker Benchmark, section 5, on a default container', () => {
  it('holds for the spec and for the running process', async () => {
    const r = await report([]);
    expect(r.running).toBe(true);
    expect(r.mismatches).toEqual([]);
    // 5.3/5.4: no capabilities, not privileged (empty bounding set), as the process shows.
    expect(r.capabilities).toMatchObject({ effective: [], bounding: [], ambient: [] });
    expect(r.live).toMatchObject({ capEff: [], capBnd: [], capAmb: [] });
    // 5.5, 5.31: no sensitive host directory and no engine socket mounted.
    const sensitive = /^\/(boot|dev|etc|lib|lib64|proc|sys|usr|var\/run\/docker\.sock|run\/docker\.sock)?$/;
    for (const m of r.mounts.filter((m) => m.type === 'bind'))
      expect(m.source ?? '', m.destination).not.toMatch(sensitive);
    // 5.9, 5.15, 5.16, 5.20: its own network, pid, ipc and uts namespaces (none shared).
    for (const t of ['network', 'pid', 'ipc', 'uts', 'mount', 'cgroup'])
      expect(
        r.namespaces.find((n) => n.type === t),
        t,
      ).toEqual({ type: t });
    // 5.12: read-only root; /proc's dangerous files masked or read-only.
    expect(r.readOnlyRoot).toBe(true);
    expect(r.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys']));
    expect(r.readOnlyPaths).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger']));
    // 5.21: the default seccomp profile, enforced (mode 2: filtered).
    expect(r.seccomp).toMatchObject({ profile: 'default', defaultAction: 'SCMP_ACT_ERRNO' });
    expect(r.live.seccompMode).toBe(2);
    // 5.25: no new privileges, on the process too.
    expect(r.noNewPrivileges).toBe(true);
    expect(r.live.noNewPrivs).toBe(true);
    // 5.28: a pids limit by default.
    expect(r.limits.pids).toBeGreaterThan(0);
    // 5.30: a user namespace of its own; container root is not host root (as the process's map says).
    expect(r.userNamespace.rootIsHostRoot).toBe(false);
    expect(r.userNamespace.uidMap[0]).toMatchObject({ containerID: 0 });
    expect(r.userNamespace.uidMap[0].hostID).toBe(process.getuid?.());
    expect(r.live.uidMap.startsWith(`0 ${process.getuid?.()} 1`)).toBe(true);
  });

  it('reports what a run loosened or limited: an added capability, memory and CPU limits (5.10, 5.11)', async () => {
    const r = await report(['--cap-add', 'NET_RAW', '--memory', '64m', '--cpus', '0.5']);
    expect(r.mismatches).toEqual([]);
    expect(r.capabilities.bounding).toEqual(['NET_RAW']);
    expect(r.live.capBnd).toEqual(['NET_RAW']);
    expect(r.limits.memory).toBe(64 * 1024 * 1024);
    expect(JSON.stringify(r.limits)).toMatch(/cpu/i);
  });
});
