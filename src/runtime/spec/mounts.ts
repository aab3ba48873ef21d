/**
 * Mounts: the kernel filesystems every container gets, scratch tmpfs for a read-only root, the
 * /etc/hosts and /etc/hostname binds, the user's `--tmpfs` and `-v`, and the `--init` binary.
 * Which targets are allowed is checked in checks.ts; masked and read-only /proc and /sys paths are
 * not mounts here but security settings (security.ts). Pure.
 */
import * as path from 'node:path';
import { LIMIT_DEFAULTS, tmpfsOptions } from '../default-limits.js';
import type { OciMount } from '../oci.js';
import type { RunOptions } from '../options.js';
import type { SpecInput } from './types.js';

export const INIT_PATH = '/dev/init';
/** The scratch tmpfs mounts a read-only root gets where no mount of the user's covers them. */
export const READ_ONLY_ROOT_TMPFS = ['/tmp', '/run'] as const;

/** The container paths the user mounts over (`-v` then `--tmpfs`), as given. */
export function userMountTargets(opts: RunOptions): string[] {
  return [...opts.volumes.map((v) => v.container), ...opts.tmpfs.map((t) => t.path)];
}

/**
 * The binary mounted at INIT_PATH, if any: moat-init when it applies Landlock or runs as --init
 * (when built), else tini for --init.
 */
export function initBinary(input: Pick<SpecInput, 'opts' | 'host'>, landlock = false): string | undefined {
  const { opts, host } = input;
  if (host.moatInit && (landlock || opts.init)) return host.moatInit;
  return opts.init ? host.initPath : undefined;
}

export function mounts(input: SpecInput, gidMapped: (g: number) => boolean, landlock = false): OciMount[] {
  const { opts, paths } = input;
  const userTargets = new Set(userMountTargets(opts).map((p) => path.posix.normalize(p)));
  const ms: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: [
        'nosuid',
        'noexec',
        'newinstance',
        'ptmxmode=0666',
        'mode=0620',
        ...(gidMapped(5) ? ['gid=5'] : []),
      ],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: [
        'nosuid',
        'noexec',
        'nodev',
        'mode=1777',
        `size=${Math.ceil((opts.shmSize ?? LIMIT_DEFAULTS.shmSize) / 1024)}k`,
      ],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
  if (!opts.readWrite) {
    // A read-only root still needs scratch space where programs expect it.
    for (const d of READ_ONLY_ROOT_TMPFS) {
      if (!userTargets.has(d))
        ms.push({
          destination: d,
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'],
        });
    }
  }
  const ro = opts.readWrite ? [] : ['ro'];
  // The files moat writes for the container (its hosts, hostname, and resolv.conf with a network).
  for (const [destination, source] of [
    ['/etc/hosts', paths.hosts],
    ['/etc/hostname', paths.hostname],
    ['/etc/resolv.conf', paths.resolv],
  ] as const)
    if (source)
      ms.push({
        destination,
        type: 'bind',
        source,
        options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', ...ro],
      });
  for (const t of opts.tmpfs) {
    ms.push({
      destination: path.posix.normalize(t.path),
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', ...tmpfsOptions(t.options)],
    });
  }
  for (const v of opts.volumes) {
    ms.push({
      destination: path.posix.normalize(v.container),
      type: 'bind',
      source: v.host,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', ...(v.readonly ? ['ro'] : [])],
    });
  }
  const init = initBinary(input, landlock);
  if (init) {
    ms.push({
      destination: INIT_PATH,
      type: 'bind',
      source: init,
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
  }
  return ms;
}
