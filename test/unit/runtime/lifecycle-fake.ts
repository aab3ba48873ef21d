/**
 * A lifecycle over a temporary store, for the verbs that act on records and cgroup files
 * (pause, rename, update, prune): no runc, no user namespace. A record made "running" names this
 * test's own process as its launcher, so reconciliation leaves it running.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CgroupFacts, HostFacts } from '../../../src/runtime/host.js';
import type { Lifecycle } from '../../../src/runtime/lifecycle.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import { ContainerStore, type ContainerRecord } from '../../../src/runtime/state.js';
import type { MoatPaths } from '../../../src/util/paths.js';
import { processStartTime } from '../../../src/util/proc.js';

export function fakeLifecycle(cgroup: CgroupFacts = { version: 'v1', delegated: {}, missing: {} }) {
  const base = mkdtempSync(path.join(tmpdir(), 'moat-verbs-'));
  const paths = {
    data: base,
    runtime: path.join(base, 'run'),
    storage: path.join(base, 'storage'),
    containers: path.join(base, 'containers'),
    runcRoot: path.join(base, 'run', 'runc'),
    locks: path.join(base, 'run', 'locks'),
  } satisfies MoatPaths;
  mkdirSync(paths.containers, { recursive: true });
  mkdirSync(paths.locks, { recursive: true });
  const containers = new ContainerStore(paths);
  const e: Lifecycle = {
    containers,
    runc: { runc: '/nonexistent/runc', root: paths.runcRoot },
    deps: { paths, host: { cgroup } as HostFacts },
    tools: () => {
      throw new Error('no user namespace tools in this test');
    },
  };
  let n = 0;
  /** Save a record (running: with this process as its launcher); returns it. */
  const put = async (more: Partial<ContainerRecord> = {}): Promise<ContainerRecord> => {
    n++;
    const id = (more.id ?? String(n).padStart(2, '0').repeat(32)).slice(0, 64);
    const running = (more.status ?? 'running') === 'running';
    const rec: ContainerRecord = {
      id,
      name: `c${n}`,
      image: 'moat/busybox',
      imageId: `sha256:${'f'.repeat(64)}`,
      created: new Date(Date.UTC(2026, 0, n)).toISOString(),
      status: 'running',
      command: ['sleep', '300'],
      options: defaultRunOptions('moat/busybox'),
      limits: {},
      cgroups: {},
      idmapMode: 'subordinate',
      warnings: [],
      lowerdir: '/x',
      ...(running
        ? { pid: process.pid, launcherPid: process.pid, launcherStart: processStartTime(process.pid) }
        : {}),
      ...more,
    };
    mkdirSync(path.join(paths.containers, id), { recursive: true });
    await containers.save(rec);
    return rec;
  };
  return { e, paths, put, base };
}
