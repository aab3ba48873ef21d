/**
 * Planning a container: everything the policy decides a run or create on, made before anything is
 * written (the image resolved, its files read, the limits and the seccomp filter worked out, the
 * spec generated), and the seccomp filter a request asks for. Facts are reads: nothing here
 * unpacks, creates or changes anything.
 */
import { createHash, randomBytes } from 'node:crypto';
import { release } from 'node:os';
import { isMoatError } from '../errors.js';
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import {
  checkSyscallsKnown,
  defaultProfile,
  parseSeccompProfile,
  resolveSeccomp,
  SeccompError,
} from '../seccomp/index.js';
import type { UsernsTools } from '../userns/exec.js';
import { canonicalPath } from '../util/canonical-path.js';
import type { MoatPaths } from '../util/paths.js';
import { mark } from '../util/timing.js';
import { checkLimits, type Limits } from './cgroups.js';
import { defaultNproc, effectivePids, limitsFor } from './default-limits.js';
import { RuntimeError } from './errors.js';
import type { HostFacts } from './host.js';
import { defaultProfileFor } from '../lsm/apparmor/loaded.js';
import { readHostFile } from './host-paths.js';
import type { ImageRoots } from './image-roots.js';
import type { OciSeccomp, OciSpec } from './oci.js';
import { checkRunOptions, normalizeCap, type RunOptions } from './options.js';
import { generateSpec } from './spec/index.js';
import { landlockAbi, moatInitPath } from './landlock.js';
import { containerDirs, type ContainerStore } from './state.js';
import { planVolumes } from './volumes/plan.js';
import {
  checkHostPorts,
  networkBinary,
  networkHook,
  networkOf,
  kindOf,
  planNetwork,
  type ContainerNetwork,
  unprivilegedPortStart,
} from './network/plan.js';
import type { VolumeStore } from './volumes/store.js';
import { NetworkStore } from './network/store.js';
import { resolveHealth, type HealthConfig } from './health/config.js';

/** What a container's name may be (create, run, rename): docker's rule. */
export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Everything decided about a container before anything is written: the policy sees e. */
export interface ContainerPlan {
  id: string;
  name: string;
  opts: RunOptions;
  image: ImageRecord;
  lowerdir: string;
  spec: OciSpec;
  /** The command as records show it (spec/types.ts SpecResult.command); else the spec's args. */
  command?: string[];
  limits: Limits;
  warnings: string[];
  /** sha256 of a custom seccomp profile's file as read (the policy's seccomp exceptions name it). */
  seccompDigest?: string;
  /** The volumes' sources as the policy sees them and the spec mounts them: canonical, in order. */
  sources: string[];
  /**
   * A custom seccomp profile: the canonical path of the file (of the file read, when it was) and
   * whether it was read. It is not read for a remote subject until the policy allowed the run
   * (`commit` reads it then); until then the spec has no seccomp filter and the policy is told so.
   */
  seccompFile?: { path: string; read: boolean };
  /** The health check it gets (the image's HEALTHCHECK under the run flags), if any. */
  healthcheck?: HealthConfig;
  /** Its network as planned (network/plan.ts). */
  network: ContainerNetwork;
}

/** How a plan may be made (see Engine.plan). */
export interface PlanOptions {
  /**
   * Whether the files the request names may be read before the decision: yes for the local owner
   * (who can read them anyway), no for a remote subject (their content, or whether they exist,
   * would be told before the policy said no).
   */
  readRequestFiles: boolean;
}

/** What planning reads: the engine is one. */
export interface PlanDeps {
  readonly deps: { paths: MoatPaths; host: HostFacts; images: ImageStore };
  readonly imageRoots: ImageRoots;
  readonly volumes: VolumeStore;
  readonly containers: ContainerStore;
  /** The user-namespace tools, or a clear error saying what the host lacks. */
  tools(): UsernsTools;
}

/**
 * Everything the policy decides a run or create on, and nothing more: resolve the image, generate
 * the spec. Facts are reads: this unpacks nothing, creates nothing and opens no file a request
 * names except, for the local owner, a seccomp profile (read once: its bytes are what runs). The
 * volume sources are resolved (canonical paths), not opened; `commit` does the rest after an allow.
 */
export async function planContainer(e: PlanDeps, opts: RunOptions, po: PlanOptions): Promise<ContainerPlan> {
  checkRunOptions(opts);
  const tools = e.tools();
  const image = await e.deps.images.resolve(opts.image);
  const config = await e.deps.images.config(image);
  const pids = effectivePids(opts, e.deps.host.cgroup, e.deps.host.rlimits);
  const limits: Limits = limitsFor(opts, pids);
  checkLimits(limits, e.deps.host.cgroup);
  const caps = opts.capAdd.map(normalizeCap);
  opts = { ...opts, capAdd: caps };
  const apparmorProfile = apparmorFor(opts, e.deps.host);
  const seccompSource: { digest?: string; path?: string } = {};
  const deferSeccomp = Boolean(opts.seccompProfile) && !po.readRequestFiles;
  let seccomp = deferSeccomp ? null : await seccompFor(e.deps.host.arch, opts, seccompSource);
  mark('image resolved, seccomp built');
  // Read where it is: the unpacked root if there is one, else the layers (nothing unpacked now).
  const { lowerdir, read: readText } = await e.imageRoots.files(image, ['etc/passwd', 'etc/group']);
  mark('image files read');
  const id = randomBytes(32).toString('hex');
  const name = opts.name ?? `moat_${id.slice(0, 8)}`;
  if (opts.name !== undefined && !CONTAINER_NAME.test(opts.name)) {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid container name "${opts.name}"`, {
      hint: 'use letters, digits, _ . - (starting with a letter or digit)',
    });
  }
  const d = containerDirs(e.deps.paths, id);
  if (opts.seccompLearn !== undefined) {
    // A learning run: the recording filter, its listener on a socket of this container's.
    const { learnPaths, learningSeccomp } = await import('./seccomp-learn.js');
    seccomp = learningSeccomp(learnPaths(e.deps.paths.runcRoot, d.dir, id).socket, {
      capabilities: opts.capAdd,
      arch: e.deps.host.arch,
      kernelVersion: release(),
    }) as OciSeccomp;
  }
  const healthcheck = resolveHealth(opts.health, config.config?.Healthcheck);
  // Volumes named, --volumes-from and the image's VOLUMEs added, each volume at its directory.
  opts = {
    ...opts,
    volumes: await planVolumes(opts, config.config?.Volumes, e.volumes, (ref) => e.containers.resolve(ref)),
  };
  // The network settled (-P's ports added); its stack checked now, not at start.
  opts = planNetwork(opts, config.config?.ExposedPorts);
  const network = await containerNetwork(e, opts);
  if (network.stack !== 'none') {
    networkBinary(network.stack);
    checkHostPorts(opts.ports ?? [], process.getuid?.() ?? 0, unprivilegedPortStart());
  }
  const hooks = network.stack === 'none' && network.kind !== 'user' ? [] : [networkHook(d.networkConfig)];
  // container:NAME has that container's /etc/hosts and resolv.conf.
  const shared = network.kind === 'container' ? containerDirs(e.deps.paths, network.target!) : undefined;
  const resolv = shared
    ? (await fileExists(shared.resolv))
      ? shared.resolv
      : undefined
    : network.kind === 'none'
      ? undefined
      : d.resolv;
  const moatInit = moatInitPath();
  // The sources as the policy judges them, and as runc will be given them (host-paths.ts).
  const sources = opts.volumes.map((v) => canonicalPath(v.host));
  const { spec, warnings, command } = generateSpec({
    id,
    opts: { ...opts, volumes: opts.volumes.map((v, i) => ({ ...v, host: sources[i] })) },
    image: config.config ?? {},
    idmaps: tools.maps,
    host: {
      arch: e.deps.host.arch,
      rlimits: e.deps.host.rlimits,
      initPath: e.deps.host.tools.init,
      moatInit,
      landlockAbi: landlockAbi(e.deps.paths.runtime, moatInit),
      cpus: e.deps.host.cpus,
    },
    paths: {
      rootfs: d.rootfs,
      hosts: shared ? shared.hosts : d.hosts,
      hostname: d.hostname,
      ...(resolv ? { resolv } : {}),
    },
    hooks,
    seccomp,
    ...(apparmorProfile ? { apparmorProfile } : {}),
    defaultNproc: defaultNproc(pids),
    passwd: await readText('etc/passwd'),
    group: await readText('etc/group'),
  });
  return {
    id,
    name,
    opts,
    image,
    lowerdir,
    spec,
    command,
    // The filter is added once the profile is read (commit): no warning that there is none.
    warnings: deferSeccomp ? warnings.filter((w) => !/^seccomp is disabled/.test(w)) : warnings,
    limits,
    seccompDigest: seccompSource.digest,
    sources,
    network,
    ...(healthcheck ? { healthcheck } : {}),
    ...(opts.seccompProfile
      ? {
          seccompFile: {
            path: seccompSource.path ?? canonicalPath(opts.seccompProfile),
            read: !deferSeccomp,
          },
        }
      : {}),
  };
}

/**
 * The AppArmor profile runc is to apply, or none. Asked for by name: AppArmor must be enabled here
 * and, where the host's list of loaded profiles is readable, the profile loaded — refused now,
 * before anything is made, rather than by runc at the start. `unconfined`: none. Not asked for:
 * `moat-default` where it is loaded (as `docker-default` for Docker), else none.
 */
export function apparmorFor(
  opts: Pick<RunOptions, 'apparmorProfile'>,
  host: Pick<HostFacts, 'apparmor' | 'apparmorProfiles'>,
): string | undefined {
  const asked = opts.apparmorProfile;
  if (asked === undefined) return defaultProfileFor(host);
  if (asked === 'unconfined') return undefined;
  if (!host.apparmor)
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `--security-opt apparmor=${asked}: AppArmor is not enabled on this host, so no profile can be applied`,
      {
        hint: 'drop the option here (moat info shows AppArmor); on a host with AppArmor an administrator loads the profile (moat apparmor generate, then apparmor_parser -r)',
      },
    );
  if (host.apparmorProfiles && !host.apparmorProfiles.includes(asked))
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `--security-opt apparmor=${asked}: no AppArmor profile of that name is loaded`,
      {
        hint: `an administrator makes and loads it as root: moat apparmor generate ... -o ${asked}.profile --profile-name ${asked} && apparmor_parser -r ${asked}.profile; moat info lists the moat profiles loaded`,
      },
    );
  return asked;
}

/**
 * The network a run asks for, checked: a user-defined network exists (and publishes no port if it
 * is internal: nothing could reach it), a container whose network is shared exists.
 */
async function containerNetwork(
  e: PlanDeps & { deps: { paths: MoatPaths } },
  opts: RunOptions,
): Promise<ContainerNetwork> {
  const net = networkOf(opts);
  const kind = kindOf(net);
  if (kind === 'user') {
    const rec = await new NetworkStore(e.deps.paths).get(net);
    const { ipBinary } = await import('./network/infra.js');
    ipBinary();
    if (rec.internal && ((opts.ports?.length ?? 0) > 0 || opts.publishAll))
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `network ${rec.name} is internal: a port published from it could not be reached`,
        {
          hint: 'drop -p/-P, or use a network made without --internal',
        },
      );
    return {
      kind,
      stack: rec.internal ? 'none' : 'slirp4netns',
      hostLoopback: rec.options.allow_host_loopback === 'true',
      target: rec.name,
    };
  }
  if (kind === 'container') {
    const target = await e.containers.resolve(net.slice('container:'.length));
    return { kind, stack: 'none', hostLoopback: false, target: target.id };
  }
  return { kind, stack: kind, hostLoopback: false };
}

async function fileExists(p: string): Promise<boolean> {
  const { exists } = await import('../util/fsutil.js');
  return exists(p);
}

/**
 * The seccomp filter for `opts`. A custom profile is read from `file` when given (canonical,
 * judged by the policy: reached exactly, no symlink) or else from the path the request named;
 * `source` gets the digest of the bytes read and the canonical path of the file they came from.
 */
export async function seccompFor(
  arch: NodeJS.Architecture,
  opts: RunOptions,
  source: { digest?: string; path?: string } = {},
  file?: string,
): Promise<OciSeccomp | null> {
  const ctx = { capabilities: opts.capAdd, arch, kernelVersion: release() };
  if (!opts.seccompProfile) return resolveSeccomp(defaultProfile(), ctx) as OciSeccomp;
  let bytes: Buffer;
  try {
    const r = readHostFile(file ?? opts.seccompProfile, file !== undefined);
    bytes = r.bytes;
    source.path = r.path;
  } catch (e) {
    if (isMoatError(e)) throw e;
    throw new SeccompError(
      'SECCOMP_INVALID_PROFILE',
      `cannot read seccomp profile ${opts.seccompProfile}: ${(e as Error).message}`,
    );
  }
  // The digest of the bytes read, not of the file again later: what the policy sees is what runs.
  source.digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const text = bytes.toString('utf8');
  const profile = parseSeccompProfile(text, opts.seccompProfile);
  if (profile === null) return null;
  const spec = resolveSeccomp(profile, ctx) as OciSeccomp;
  await checkSyscallsKnown(spec as Parameters<typeof checkSyscallsKnown>[0]);
  return spec;
}
