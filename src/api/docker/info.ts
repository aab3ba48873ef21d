/** `GET /info` (docker info): moat's info route, counts of containers and images, in Docker's shape. */
import { release } from 'node:os';
import type { ContainerRecord } from '../../runtime/state.js';
import { dockerState } from '../../runtime/status.js';
import { sendJson } from '../http.js';
import type { Handler } from './handler.js';
import { dockerArch } from './platform.js';

export const systemInfo: Handler = async ({ call, res, ctx }) => {
  const info = (await call('GET', '/info')) as Record<string, Record<string, unknown>>;
  const containers = (await call('GET', '/containers', { all: true })) as ContainerRecord[];
  const images = (await call('GET', '/images')) as unknown[];
  const count = (s: string) => containers.filter((c) => dockerState(c) === s).length;
  sendJson(res, 200, {
    ID: '',
    Name: 'moat',
    ServerVersion: ctx.options.version,
    Containers: containers.length,
    ContainersRunning: count('running'),
    ContainersPaused: count('paused'),
    ContainersStopped: containers.length - count('running') - count('paused'),
    Images: images.length,
    Driver: 'overlay',
    OperatingSystem: 'moat (rootless)',
    OSType: 'linux',
    Architecture: dockerArch(),
    KernelVersion: release(),
    CgroupVersion: String(info.cgroups?.version ?? ''),
    SecurityOptions: [
      'name=seccomp,profile=moat-default',
      'name=rootless',
      'name=userns',
      'name=no-new-privileges',
    ],
    DefaultRuntime: 'runc',
    Runtimes: { runc: { path: String((info.runtime as Record<string, unknown>)?.path ?? 'runc') } },
    DockerRootDir: String((info.paths as Record<string, unknown>)?.data ?? ''),
    Warnings: [],
  });
};
