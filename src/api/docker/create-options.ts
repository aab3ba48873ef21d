/**
 * The fields of Docker's create body that moat applies beyond the basics, translated by name onto
 * run options: `--mount`, `--shm-size`, `--cpu-quota`/`--cpu-period`, `--cpuset-cpus`,
 * `--memory-swap`, `--group-add`, `--sysctl`, `--oom-score-adj`, and the namespace modes. Only
 * the names change here: what may be set is checked once for every way in (the engine's
 * checkRunOptions, the delegated cgroups, the image's groups), with messages naming the flags.
 */
import { mountToRunOptions, type MountSpec } from '../../runtime/mount-option.js';
import type { RunOptions, TmpfsSpec, VolumeSpec } from '../../runtime/options.js';
import { ApiError } from '../errors.js';

type Body = Record<string, unknown>;

const refuse = (what: string, why: string): never => {
  throw new ApiError('API_INVALID_REQUEST', `${what} is not supported by moat: ${why}`);
};

/**
 * Namespace modes: each container has its own PID, IPC, UTS, user and cgroup namespaces (and
 * network, see NetworkMode). Docker's defaults say that ('' and, for IPC and cgroups, `private`);
 * sharing the host's or another container's is refused, never dropped.
 */
const MODES: Record<string, [flag: string, own: string[]]> = {
  PidMode: ['--pid', ['']],
  IpcMode: ['--ipc', ['', 'private']],
  UTSMode: ['--uts', ['']],
  UsernsMode: ['--userns', ['']],
  CgroupnsMode: ['--cgroupns', ['', 'private']],
};

export function checkNamespaceModes(h: Body): void {
  for (const [key, [flag, own]] of Object.entries(MODES)) {
    const v = h[key];
    if (v === undefined || v === null || (typeof v === 'string' && own.includes(v))) continue;
    const mode = String(v).slice(0, 40);
    if (mode === 'host') refuse(`${flag}=host`, 'host namespaces are not shared');
    if (mode.startsWith('container:'))
      refuse(`${flag}=${mode}`, 'containers do not share namespaces: each has its own');
    refuse(`${flag}=${mode}`, `each container has its own ${flag.slice(2)} namespace`);
  }
}

/**
 * Set in Docker's sense (not undefined, null, 0, '', [] or {}). A value of the wrong type is passed
 * on as it is, for the run options' schema to refuse: nothing set is dropped.
 */
const given = (v: unknown): boolean =>
  !(
    v === undefined ||
    v === null ||
    v === 0 ||
    v === '' ||
    (typeof v === 'object' && Object.keys(v).length === 0)
  );
const asIs = <T>(v: unknown): T | undefined => (given(v) ? (v as T) : undefined);

/**
 * The fields of Docker's `Mount` and of its options that moat knows: any other that is set is
 * refused. `ReadOnlyNonRecursive` is what a read-only bind is under runc anyway (the bind itself
 * is read-only, mounts below its source keep their flags), as with `-v ...:ro`.
 */
const MOUNT_FIELDS: Record<string, string[]> = {
  '': [
    'Type',
    'Source',
    'Target',
    'ReadOnly',
    'Consistency',
    'BindOptions',
    'VolumeOptions',
    'ImageOptions',
    'TmpfsOptions',
  ],
  BindOptions: [
    'Propagation',
    'NonRecursive',
    'CreateMountpoint',
    'ReadOnlyNonRecursive',
    'ReadOnlyForceRecursive',
  ],
  TmpfsOptions: ['SizeBytes', 'Mode', 'Options'],
  VolumeOptions: ['NoCopy', 'Labels', 'DriverConfig'],
  'VolumeOptions.DriverConfig': ['Name', 'Options'],
};

function unknownFields(d: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [part, known] of Object.entries(MOUNT_FIELDS)) {
    const o = part
      ? part.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], d)
      : d;
    if (typeof o !== 'object' || o === null) continue;
    for (const [k, v] of Object.entries(o))
      if (!known.includes(k) && given(v)) out.push(`${part ? `${part}.` : ''}${k}`.slice(0, 60));
  }
  return out;
}

/** Docker's `Mount` → MountSpec (names only; mount-option.ts decides). */
export function mountSpecOf(m: unknown): MountSpec {
  if (typeof m !== 'object' || m === null)
    throw new ApiError('API_INVALID_REQUEST', 'Mounts must hold objects');
  const d = m as Record<string, unknown>;
  const unknown = unknownFields(d);
  if (unknown.length) refuse(`--mount with ${unknown.join(', ')}`, 'moat does not know these mount options');
  const bind = (d.BindOptions ?? {}) as Record<string, unknown>;
  const tmpfs = (d.TmpfsOptions ?? {}) as Record<string, unknown>;
  const vol = (d.VolumeOptions ?? {}) as Record<string, unknown>;
  const driver = (vol.DriverConfig ?? {}) as Record<string, unknown>;
  const foreign = [
    ...(d.VolumeOptions && d.Type !== 'volume' ? ['VolumeOptions'] : []),
    ...(d.ImageOptions && d.Type !== 'image' ? ['ImageOptions'] : []),
    ...(d.BindOptions && d.Type !== 'bind' ? ['BindOptions'] : []),
    ...(d.TmpfsOptions && d.Type !== 'tmpfs' ? ['TmpfsOptions'] : []),
  ];
  // Set values of the wrong type are kept (as text, or as set) for mount-option.ts to refuse.
  const str = (v: unknown) => (given(v) ? String(v) : undefined);
  const on = (v: unknown) => given(v) && v !== false;
  const spec: MountSpec = { type: String(d.Type ?? '') };
  const set = <K extends keyof MountSpec>(k: K, v: MountSpec[K] | undefined) => {
    if (v !== undefined && v !== false) spec[k] = v;
  };
  set('source', str(d.Source));
  set('target', str(d.Target));
  set('readonly', on(d.ReadOnly));
  set('consistency', str(d.Consistency));
  set('propagation', str(bind.Propagation));
  set('nonRecursive', on(bind.NonRecursive));
  set('createMountpoint', on(bind.CreateMountpoint));
  set('readOnlyForceRecursive', on(bind.ReadOnlyForceRecursive));
  set('tmpfsSize', asIs<number>(tmpfs.SizeBytes));
  set('tmpfsMode', asIs<number>(tmpfs.Mode));
  // API 1.46: [["noexec"], ["nr_inodes", "1k"]].
  if (Array.isArray(tmpfs.Options) && tmpfs.Options.length)
    spec.tmpfsOptions = tmpfs.Options.map((o) => (Array.isArray(o) ? o.map(String).join('=') : String(o)));
  set('volumeNocopy', on(vol.NoCopy));
  set('volumeDriver', str(driver.Name) || undefined);
  const strMap = (v: unknown): Record<string, string> | undefined =>
    typeof v === 'object' && v !== null && Object.keys(v).length
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]))
      : undefined;
  set('volumeLabels', strMap(vol.Labels));
  set('volumeOptions', strMap(driver.Options));
  if (foreign.length) spec.foreign = foreign;
  return spec;
}

/** `HostConfig.Mounts` → binds and volumes (as `-v`) and tmpfs mounts (as `--tmpfs`). */
export function mountsFromDocker(v: unknown): { volumes: VolumeSpec[]; tmpfs: TmpfsSpec[] } {
  const out = { volumes: [] as VolumeSpec[], tmpfs: [] as TmpfsSpec[] };
  if (v === undefined || v === null) return out;
  if (!Array.isArray(v)) throw new ApiError('API_INVALID_REQUEST', 'Mounts must be a list');
  for (const m of v) {
    const r = mountToRunOptions(mountSpecOf(m));
    if ('volume' in r) out.volumes.push(r.volume);
    else out.tmpfs.push(r.tmpfs);
  }
  return out;
}

/** `HostConfig.Tmpfs` (`{"/run": "size=1m,exec"}`) as `--tmpfs` gives it. */
export function tmpfsFromDocker(v: unknown): TmpfsSpec[] {
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).map(([p, opts]) => ({
    path: p,
    options: String(opts ?? '')
      .split(',')
      .filter(Boolean),
  }));
}

/**
 * The resource and process fields: Docker's zero (or empty) is "not set", as its CLI sends it.
 * `CpuQuota: -1` and `MemorySwap: 0` are Docker's "no quota" and "the default swap": moat's
 * defaults are no quota and no swap beyond `--memory`.
 */
export function hostOptionsFromDocker(h: Body): Partial<RunOptions> {
  const o: Partial<RunOptions> = {};
  const take = <K extends keyof RunOptions>(k: K, v: unknown) => {
    if (given(v)) o[k] = v as RunOptions[K];
  };
  take('shmSize', h.ShmSize);
  take('cpuQuota', h.CpuQuota === -1 ? undefined : h.CpuQuota);
  take('cpuPeriod', h.CpuPeriod);
  take('cpusetCpus', h.CpusetCpus);
  take('memorySwap', h.MemorySwap);
  take('oomScoreAdj', h.OomScoreAdj);
  take('groupAdd', Array.isArray(h.GroupAdd) ? h.GroupAdd.map(String) : h.GroupAdd);
  // A list is read with the basics (containers-create.ts); anything else goes to the schema to refuse.
  if (!Array.isArray(h.Ulimits)) take('ulimits', h.Ulimits);
  const sysctls = h.Sysctls;
  take(
    'sysctls',
    typeof sysctls === 'object' && sysctls !== null && !Array.isArray(sysctls)
      ? Object.fromEntries(
          Object.entries(sysctls).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]),
        )
      : sysctls,
  );
  return o;
}
