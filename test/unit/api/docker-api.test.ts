/** Pure parts of the Docker API layer: create bodies → run options, shapes, statuses. */
import { describe, expect, it } from 'vitest';
import {
  containerSummary,
  humanStatus,
  imageSummary,
  runOptionsFromDocker,
} from '../../../src/api/docker/index.js';
import { statusOf } from '../../../src/api/http.js';
import type { ContainerRecord } from '../../../src/runtime/state.js';

describe('runOptionsFromDocker', () => {
  it('maps what the docker CLI sends, keeping moat’s hardened defaults', () => {
    const o = runOptionsFromDocker(
      {
        Image: 'moat/busybox',
        Cmd: ['sh', '-c', 'true'],
        Entrypoint: null,
        Env: ['A=1'],
        WorkingDir: '/w',
        User: '1000:1000',
        Labels: { a: 'b' },
        HostConfig: {
          Memory: 64 << 20,
          NanoCpus: 500_000_000,
          PidsLimit: 100,
          ReadonlyRootfs: false,
          AutoRemove: true,
          Init: true,
          CapAdd: ['NET_BIND_SERVICE'],
          Binds: ['/tmp/x:/x:ro'],
          Tmpfs: { '/run': 'size=1m' },
          Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
          SecurityOpt: ['no-new-privileges'],
          NetworkMode: 'default',
        },
      },
      'web',
    );
    expect(o).toMatchObject({
      image: 'moat/busybox',
      name: 'web',
      cmd: ['sh', '-c', 'true'],
      env: ['A=1'],
      workdir: '/w',
      user: '1000:1000',
      labels: { a: 'b' },
      memory: 64 << 20,
      cpus: 0.5,
      pidsLimit: 100,
      rm: true,
      init: true,
      capAdd: ['NET_BIND_SERVICE'],
      volumes: [{ host: '/tmp/x', container: '/x', readonly: true }],
      tmpfs: [{ path: '/run', options: ['size=1m'] }],
      ulimits: [{ name: 'nofile', soft: 10, hard: 20 }],
    });
    // Docker's ReadonlyRootfs: false is its CLI's default: the root stays read-only.
    expect(o.readWrite).toBe(false);
    expect(o.entrypoint).toBeUndefined();
  });

  it('refuses what would loosen the isolation', () => {
    const bad: Record<string, unknown>[] = [
      { HostConfig: { Privileged: true } },
      { HostConfig: { PidMode: 'host' } },
      { HostConfig: { IpcMode: 'host' } },
      { HostConfig: { UsernsMode: 'host' } },
      { HostConfig: { NetworkMode: 'host' } },
      { HostConfig: { Devices: [{ PathOnHost: '/dev/kvm' }] } },
      { HostConfig: { SecurityOpt: ['seccomp=unconfined'] } },
      { HostConfig: { SecurityOpt: ['systempaths=unconfined'] } },
      // apparmor=unconfined is taken (the policy refuses it to remote subjects): docker-options.test.ts
    ];
    for (const b of bad)
      expect(() => runOptionsFromDocker({ Image: 'x', ...b }, null), JSON.stringify(b)).toThrow(
        expect.objectContaining({ code: 'API_INVALID_REQUEST' }),
      );
    expect(() => runOptionsFromDocker({}, null)).toThrow(
      expect.objectContaining({ code: 'API_INVALID_REQUEST' }),
    );
    expect(() => runOptionsFromDocker('x', null)).toThrow(
      expect.objectContaining({ code: 'API_INVALID_REQUEST' }),
    );
  });
});

describe('shapes and statuses', () => {
  const rec = {
    id: 'a'.repeat(64),
    name: 'web',
    image: 'moat/busybox',
    imageId: 'sha256:' + 'b'.repeat(64),
    created: '2026-11-22T10:00:00.000Z',
    status: 'exited',
    exitCode: 3,
    finishedAt: '2026-11-22T10:00:30.000Z',
    command: ['sh', '-c', 'exit 3'],
    options: { labels: {} },
  } as unknown as ContainerRecord;

  it('ps rows and human statuses', () => {
    expect(containerSummary(rec)).toMatchObject({
      Id: rec.id,
      Names: ['/web'],
      State: 'exited',
      Command: 'sh -c exit 3',
    });
    const now = Date.parse('2026-11-22T10:05:30.000Z');
    expect(humanStatus(rec, now)).toBe('Exited (3) 5 minutes ago');
    expect(humanStatus({ ...rec, status: 'running', startedAt: '2026-11-22T10:05:00.000Z' }, now)).toBe(
      'Up 30 seconds',
    );
    expect(humanStatus({ ...rec, status: 'created' }, now)).toBe('Created');
  });

  it('image rows: a dangling image is <none>:<none> and <none>@<none>, as the docker CLI recognises one', () => {
    expect(
      imageSummary({ id: 'sha256:x', names: [], created: '2026-01-01T00:00:00Z', size: 5 }),
    ).toMatchObject({
      RepoTags: ['<none>:<none>'],
      RepoDigests: ['<none>@<none>'],
      Size: 5,
      Created: 1767225600,
    });
    // Untagged but pulled by digest: no tag row, its digests stay.
    const d = 'localhost/x@sha256:' + 'a'.repeat(64);
    expect(
      imageSummary({ id: 'sha256:x', names: [], repoDigests: [d], created: '2026-01-01T00:00:00Z', size: 5 }),
    ).toMatchObject({ RepoTags: [], RepoDigests: [d] });
  });

  it('error codes map to HTTP statuses', () => {
    expect(statusOf('POLICY_DENIED')).toBe(403);
    expect(statusOf('RUNTIME_CONTAINER_NOT_FOUND')).toBe(404);
    expect(statusOf('IMAGE_NOT_FOUND')).toBe(404);
    expect(statusOf('RUNTIME_NAME_IN_USE')).toBe(409);
    expect(statusOf('RUNTIME_INVALID_STATE')).toBe(409);
    expect(statusOf('API_INVALID_REQUEST')).toBe(400);
    expect(statusOf('IMAGE_UNSAFE_LINK')).toBe(400);
    expect(statusOf('API_NOT_IMPLEMENTED')).toBe(501);
    expect(statusOf('RUNTIME_RUNC_FAILED')).toBe(500);
  });
});
