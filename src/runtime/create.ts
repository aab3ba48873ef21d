/**
 * Creating a container once the policy allowed its plan (plan.ts): pin the host paths the policy
 * saw, read a seccomp profile not read yet, unpack the image's root if needed, then write the
 * bundle and the record (status 'created'), a chosen name checked under a lock.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fsutil.js';
import { withLock } from '../util/lock.js';
import type { MoatPaths } from '../util/paths.js';
import { mark } from '../util/timing.js';
import { settleContainerDir } from './container-dir.js';
import { RuntimeError } from './errors.js';
import { pinMounts } from './host-paths.js';
import { logConfigOf } from './logs/index.js';
import { seccompFor, type ContainerPlan, type PlanDeps } from './plan.js';
import { LANDLOCK_SYSCALLS, landlockOfSpec, seccompAllowsLandlock } from './spec/index.js';
import { groupsReachContainers } from './runtime-facts.js';
import { containerDirs, type ContainerRecord, type ContainerStore } from './state.js';
import { prepareVolumes } from './volumes/prepare.js';
import { hookConfig, hostsFile, networkBinary, resolvConf } from './network/plan.js';
import { apiSocketOf } from './network/stop.js';
import { removeTreeInUserns } from '../userns/exec.js';
import { volumesLock } from './volumes/store.js';

/** What creating needs: the engine is one. */
export interface CreateDeps extends PlanDeps {
  readonly containers: ContainerStore;
  /** For root: the host IDs of container root (files it must own); undefined otherwise. */
  containerRootOwner(): { uid: number; gid: number } | undefined;
}

/**
 * A container with a network: its /etc/resolv.conf and the hook's configuration (network/plan.ts),
 * written into the directory being made (`tmp`), naming the paths it will have.
 */
function networkFiles(tmp: string, plan: ContainerPlan, paths: MoatPaths): Promise<void>[] {
  const net = plan.network;
  if (net.kind === 'none' || net.kind === 'container') return [];
  const d = containerDirs(paths, plan.id);
  const cfg = hookConfig(plan.opts, net, net.stack === 'none' ? '' : networkBinary(net.stack), {
    // Short (a unix socket path has at most 107 bytes), where container root may write (runc does).
    apiSocket: apiSocketOf(paths.runcRoot, plan.id),
    stateFile: d.networkState,
    logFile: d.networkLog,
  });
  let hostResolv = '';
  try {
    hostResolv = readFileSync('/etc/resolv.conf', 'utf8').slice(0, 65536);
  } catch {
    /* no host resolver: --dns or the stack's */
  }
  return [
    fsp.writeFile(path.join(tmp, 'resolv.conf'), resolvConf(net.stack, plan.opts.dns, hostResolv)),
    fsp.writeFile(path.join(tmp, 'network.json'), JSON.stringify(cfg, null, 2), { mode: 0o600 }),
  ];
}

/** Held while a chosen name is checked and taken (create, rename): names stay unique. */
export const namesLock = (paths: MoatPaths): string => path.join(paths.locks, 'names.lock');

/**
 * After an allow: pin the host paths the policy saw (host-paths.ts), read a seccomp profile not
 * read yet, unpack the image's root if needed, then write the container's bundle and record
 * (status 'created').
 */
export async function commitPlan(
  e: CreateDeps,
  plan: ContainerPlan,
  onProgress?: (msg: string) => void,
): Promise<ContainerRecord> {
  if (plan.seccompFile && !plan.seccompFile.read) {
    const source: { digest?: string } = {};
    const seccomp = await seccompFor(e.deps.host.arch, plan.opts, source, plan.seccompFile.path);
    const linux = { ...plan.spec.linux };
    if (seccomp) linux.seccomp = seccomp;
    // The policy was told Landlock applies: a profile that blocks it must not turn it off unseen.
    if (landlockOfSpec(plan.spec.annotations).enabled && !seccompAllowsLandlock(seccomp))
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `the seccomp profile ${plan.seccompFile.path} does not allow ${LANDLOCK_SYSCALLS.join(', ')}, which Landlock needs`,
        { hint: 'allow them in the profile, or run with --security-opt landlock=off' },
      );
    plan = { ...plan, spec: { ...plan.spec, linux }, seccompDigest: source.digest };
  }
  const lowerdir = await e.imageRoots.ensure(plan.image, onProgress);
  mark('rootfs ready');
  if (lowerdir !== plan.lowerdir) throw new Error(`the image root is at ${lowerdir}, not ${plan.lowerdir}`);
  // Volumes are made (and filled from the image) before their directories are pinned like binds.
  const hasVolumes = plan.opts.volumes.some((v) => v.volume !== undefined);
  if (hasVolumes) return withLock(volumesLock(e.deps.paths), () => commitPinned(e, plan, lowerdir, true));
  return commitPinned(e, plan, lowerdir, false);
}

async function commitPinned(
  e: CreateDeps,
  plan: ContainerPlan,
  lowerdir: string,
  hasVolumes: boolean,
): Promise<ContainerRecord> {
  const made: string[] = [];
  try {
    if (hasVolumes) await prepareVolumes(e, plan.opts.volumes, lowerdir, made);
    const rec = await writeContainer(e, plan);
    if (plan.network.kind === 'user') await joinAtCreate(e, rec, plan.network.target!);
    return rec;
  } catch (err) {
    // The anonymous volumes this create made go with it (the volumes lock is held).
    for (const name of made)
      await e.volumes.remove(name, (dir) => removeTreeInUserns(e.tools(), dir)).catch(() => {});
    throw err;
  }
}

/** Its place on its user-defined network; the container goes again if it cannot have one. */
async function joinAtCreate(e: CreateDeps, rec: ContainerRecord, network: string): Promise<void> {
  const { joinNetwork } = await import('./network/endpoints.js');
  const { NetworkStore } = await import('./network/store.js');
  try {
    await joinNetwork(
      { paths: e.deps.paths, containers: e.containers, networks: new NetworkStore(e.deps.paths) },
      rec,
      network,
      rec.options.networkAliases ?? [],
    );
  } catch (err) {
    // Just written, never started: nothing in it but what moat wrote.
    await fsp.rm(containerDirs(e.deps.paths, rec.id).dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

async function writeContainer(e: CreateDeps, plan: ContainerPlan): Promise<ContainerRecord> {
  const hostPaths = pinMounts(
    plan.opts.volumes.map((v, i) => ({
      source: plan.sources[i],
      destination: path.posix.normalize(v.container),
    })),
  );
  const d = containerDirs(e.deps.paths, plan.id);
  const write = async () => {
    // Everything is written into `<id>.tmp` and appears at once by renaming the directory, so
    // the files inside need no rename of their own.
    const tmp = `${d.dir}.tmp`;
    await fsp.mkdir(path.join(tmp, 'bundle', 'rootfs'), { recursive: true, mode: 0o700 });
    await fsp.mkdir(path.join(tmp, 'upper'), { mode: 0o755 });
    await fsp.mkdir(path.join(tmp, 'work'), { mode: 0o700 });
    await Promise.all([
      fsp.writeFile(path.join(tmp, 'hostname'), `${plan.spec.hostname}\n`),
      fsp.writeFile(path.join(tmp, 'hosts'), hostsFile(plan.spec.hostname, plan.opts.addHosts)),
      ...networkFiles(tmp, plan, e.deps.paths),
      fsp.writeFile(path.join(tmp, 'bundle', 'config.json'), JSON.stringify(plan.spec, null, 2)),
      // The log exists from the start, so a client can attach (open it) before the container
      // runs and read it to the end even after --rm removed it.
      fsp.writeFile(path.join(tmp, 'container.log'), '', { mode: 0o600 }),
    ]);
    const rec: ContainerRecord = {
      id: plan.id,
      name: plan.name,
      image: plan.opts.image,
      imageId: plan.image.id,
      created: new Date().toISOString(),
      status: 'created',
      command: plan.command ?? plan.spec.process.args,
      options: plan.opts,
      limits: plan.limits,
      cgroups: {},
      idmapMode: e.tools().maps.mode,
      supplementaryGroups: groupsReachContainers(e.tools().maps.mode) ? e.deps.host.groups : [],
      warnings: plan.warnings,
      ...(plan.seccompDigest ? { seccompDigest: plan.seccompDigest } : {}),
      lowerdir: plan.lowerdir,
      network: plan.network,
      ...(hostPaths.length ? { hostPaths } : {}),
      logConfig: logConfigOf(plan.opts.log),
      ...(plan.healthcheck ? { healthcheck: plan.healthcheck } : {}),
    };
    // Owners and modes: moat keeps what it trusts; container root gets only what runc needs.
    await settleContainerDir(tmp, e.containerRootOwner());
    await writeFileAtomic(path.join(tmp, 'container.json'), JSON.stringify(rec, null, 2), 0o600);
    await fsp.rename(tmp, d.dir);
    return rec;
  };
  // A generated name is unique by construction (it holds the random ID); a chosen one is
  // checked against every container under a lock, so two concurrent creates cannot both win.
  if (plan.opts.name === undefined) return write();
  return withLock(namesLock(e.deps.paths), async () => {
    const existing = await e.containers.list();
    if (existing.some((c) => c.name === plan.name)) {
      throw new RuntimeError('RUNTIME_NAME_IN_USE', `the name "${plan.name}" is already in use`, {
        hint: `remove it with moat rm ${plan.name}, or choose another --name`,
      });
    }
    return write();
  });
}
