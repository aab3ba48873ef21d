/**
 * Container lifecycle: create, start (attached or detached), stop, kill, exec, wait, remove,
 * inspect, list with reconciliation. The API handlers call these; nothing else touches runc.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { release } from 'node:os';
import type { Writable } from 'node:stream';
import { isMoatError, MoatError } from '../errors.js';
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { checkSyscallsKnown, defaultProfile, parseSeccompProfile, resolveSeccomp } from '../seccomp/index.js';
import type { UsernsTools } from '../userns/exec.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { withLock } from '../util/lock.js';
import { mark } from '../util/timing.js';
import type { MoatPaths } from '../util/paths.js';
import { checkLimits, type Limits } from './cgroups.js';
import { defaultNproc, effectiveLimitsOf, effectivePids, limitsFor } from './default-limits.js';
import { groupsReachContainers } from './runtime-facts.js';
import { readImageFile } from './container-files.js';
import { execInContainer, type ExecOptions } from './exec.js';
import { pinMounts, readHostFile } from './host-paths.js';
import { canonicalPath } from '../util/canonical-path.js';
import { RuntimeError } from './errors.js';
import type { HostFacts } from './host.js';
import { logConfigOf, printLogs } from './logs/index.js';
import type { OciSeccomp, OciSpec } from './oci.js';
import { checkRunOptions, normalizeCap, type RunOptions } from './options.js';
import { runcKill, type RuncConfig } from './runc.js';
import {
  ensureImageRootfs,
  readyRootfs,
  removeImageRootfs,
  rootfsDir,
  removeStaleUnpacks,
  startUnpackWorker,
  unpackWhileDownloading,
  type StreamedLayer,
} from './rootfs.js';
import { usernsTools } from './lifecycle.js';
import { generateSpec } from './spec/index.js';
import { containerDirs, ContainerStore, type ContainerRecord } from './state.js';
import { readExit } from './exits.js';
import { fsckContainers, type FsckReport } from './fsck.js';
import { reconcile } from './reconcile.js';
import { removeContainer, removeExited } from './remove.js';
import { runAttached, startDetached } from './start.js';
import type { Attach, RunOutcome } from './supervise.js';
import { settleContainerDir } from './container-dir.js';

export interface EngineDeps {
  paths: MoatPaths;
  host: HostFacts;
  images: ImageStore;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** Everything decided about a container before anything is written: the policy sees this. */
export interface ContainerPlan {
  id: string;
  name: string;
  opts: RunOptions;
  image: ImageRecord;
  lowerdir: string;
  spec: OciSpec;
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

export class Engine {
  readonly containers: ContainerStore;
  readonly runc: RuncConfig;
  private toolsCache?: UsernsTools;

  constructor(readonly deps: EngineDeps) {
    this.containers = new ContainerStore(deps.paths);
    this.runc = { runc: deps.host.tools.runc ?? 'runc', root: deps.paths.runcRoot };
  }

  /** The user-namespace tools, or a clear error saying what the host lacks. */
  tools(): UsernsTools {
    return (this.toolsCache ??= usernsTools(this.deps.host, this.deps.paths));
  }

  /** For root: the host IDs of container root (files it must own); undefined otherwise. */
  containerRootOwner(): { uid: number; gid: number } | undefined {
    if (this.deps.host.uid !== 0) return undefined;
    const m = this.tools().maps;
    return { uid: m.rootUid, gid: m.rootGid };
  }

  private rootfsDeps() {
    return {
      storageRoot: this.deps.paths.storage,
      locks: this.deps.paths.locks,
      blobPath: (d: string) => this.deps.images.blobPath(d),
      tools: this.tools(),
    };
  }

  /**
   * For `moat pull`: an unpacker for the image's root while its layers download, committed only
   * after `verified` (see rootfs.ts). Its worker starts now, so that its start-up overlaps the
   * manifest fetch; call `dispose` when the pull is over (it stops an unused worker).
   * Undefined when this host cannot make a user namespace (the pull still stores the image;
   * `run` explains what is missing).
   */
  liveUnpacker():
    | {
        unpack: (
          imageId: string,
          layers: StreamedLayer[],
          verified: Promise<unknown>,
          onStart?: () => void,
          onSkip?: (why: string) => void,
        ) => Promise<{ created: boolean } | undefined>;
        dispose: () => void;
      }
    | undefined {
    let deps;
    try {
      deps = this.rootfsDeps();
    } catch {
      return undefined;
    }
    const worker = startUnpackWorker(deps);
    let used = false;
    return {
      unpack: (imageId, layers, verified, onStart, onSkip) => {
        if (used) throw new Error('liveUnpacker: one unpack per worker');
        used = true;
        return unpackWhileDownloading(deps, imageId, layers, verified, { onStart, worker }).catch(
          (e: unknown) => {
            // A host where the namespace cannot be made (a CI container, say) can still pull,
            // verify and scan images: the pull goes on without the unpack; `run` will say why.
            if (isMoatError(e) && /^USERNS_/.test(e.code)) {
              onSkip?.(e.message);
              return undefined;
            }
            throw e;
          },
        );
      },
      dispose: () => {
        if (!used) worker.cancel();
      },
    };
  }

  /** Remove unpack trees that a dead moat left half-made (see rootfs.ts); returns their paths. */
  async removeStaleUnpacks(minAgeMs: number): Promise<string[]> {
    let deps;
    try {
      deps = this.rootfsDeps();
    } catch {
      return [];
    }
    return removeStaleUnpacks(deps, minAgeMs);
  }

  /**
   * Everything the policy decides a run or create on, and nothing more: resolve the image, generate
   * the spec. Facts are reads: this unpacks nothing, creates nothing and opens no file a request
   * names except, for the local owner, a seccomp profile (read once: its bytes are what runs). The
   * volume sources are resolved (canonical paths), not opened; `commit` does the rest after an allow.
   */
  async plan(opts: RunOptions, po: PlanOptions): Promise<ContainerPlan> {
    checkRunOptions(opts);
    const tools = this.tools();
    const image = await this.deps.images.resolve(opts.image);
    const config = await this.deps.images.config(image);
    const pids = effectivePids(opts, this.deps.host.cgroup, this.deps.host.rlimits);
    const limits: Limits = limitsFor(opts, pids);
    checkLimits(limits, this.deps.host.cgroup);
    const caps = opts.capAdd.map(normalizeCap);
    opts = { ...opts, capAdd: caps };
    const seccompSource: { digest?: string; path?: string } = {};
    const deferSeccomp = Boolean(opts.seccompProfile) && !po.readRequestFiles;
    const seccomp = deferSeccomp ? null : await this.seccompFor(opts, seccompSource);
    mark('image resolved, seccomp built');
    // Read where it is: the unpacked root if there is one, else the layers (nothing unpacked now).
    const rootfsDeps = this.rootfsDeps();
    const lowerdir = rootfsDir(rootfsDeps.storageRoot, image.id);
    const ready = await readyRootfs(rootfsDeps, image.id);
    const files = ready
      ? undefined
      : // Loaded only here: the tar reader costs every command ~20 ms to load, most never need it.
        await (
          await import('../image/layer-files.js')
        ).readLayerFiles(
          image.layers.map((l) => ({ path: this.deps.images.blobPath(l.digest), mediaType: l.mediaType })),
          ['etc/passwd', 'etc/group'],
        );
    mark('image files read');
    const id = randomBytes(32).toString('hex');
    const name = opts.name ?? `moat_${id.slice(0, 8)}`;
    if (opts.name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(opts.name)) {
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid container name "${opts.name}"`, {
        hint: 'use letters, digits, _ . - (starting with a letter or digit)',
      });
    }
    // Not readFile: the image's files are resolved inside its root, never on the host's (see there).
    const readText = async (p: string) => (ready ? readImageFile(ready, p) : files?.get(p));
    const d = containerDirs(this.deps.paths, id);
    // The sources as the policy judges them, and as runc will be given them (host-paths.ts).
    const sources = opts.volumes.map((v) => canonicalPath(v.host));
    const { spec, warnings } = generateSpec({
      id,
      opts: { ...opts, volumes: opts.volumes.map((v, i) => ({ ...v, host: sources[i] })) },
      image: config.config ?? {},
      idmaps: tools.maps,
      host: {
        arch: this.deps.host.arch,
        rlimits: this.deps.host.rlimits,
        initPath: this.deps.host.tools.init,
        cpus: this.deps.host.cpus,
      },
      paths: { rootfs: d.rootfs, hosts: d.hosts, hostname: d.hostname },
      seccomp,
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
      // The filter is added once the profile is read (commit): no warning that there is none.
      warnings: deferSeccomp ? warnings.filter((w) => !/^seccomp is disabled/.test(w)) : warnings,
      limits,
      seccompDigest: seccompSource.digest,
      sources,
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
   * The seccomp filter for `opts`. A custom profile is read from `file` when given (canonical,
   * judged by the policy: reached exactly, no symlink) or else from the path the request named;
   * `source` gets the digest of the bytes read and the canonical path of the file they came from.
   */
  private async seccompFor(
    opts: RunOptions,
    source: { digest?: string; path?: string } = {},
    file?: string,
  ): Promise<OciSeccomp | null> {
    const ctx = { capabilities: opts.capAdd, arch: this.deps.host.arch, kernelVersion: release() };
    if (!opts.seccompProfile) return resolveSeccomp(defaultProfile(), ctx) as OciSeccomp;
    let bytes: Buffer;
    try {
      const r = readHostFile(file ?? opts.seccompProfile, file !== undefined);
      bytes = r.bytes;
      source.path = r.path;
    } catch (e) {
      if (isMoatError(e)) throw e;
      throw new MoatError(
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

  /**
   * After an allow: pin the host paths the policy saw (host-paths.ts), read a seccomp profile not
   * read yet, unpack the image's root if needed, then write the container's bundle and record
   * (status 'created').
   */
  async commit(plan: ContainerPlan, onProgress?: (msg: string) => void): Promise<ContainerRecord> {
    const hostPaths = pinMounts(
      plan.opts.volumes.map((v, i) => ({
        source: plan.sources[i],
        destination: path.posix.normalize(v.container),
      })),
    );
    if (plan.seccompFile && !plan.seccompFile.read) {
      const source: { digest?: string } = {};
      const seccomp = await this.seccompFor(plan.opts, source, plan.seccompFile.path);
      const linux = { ...plan.spec.linux };
      if (seccomp) linux.seccomp = seccomp;
      plan = { ...plan, spec: { ...plan.spec, linux }, seccompDigest: source.digest };
    }
    const lowerdir = await ensureImageRootfs(this.rootfsDeps(), plan.image, onProgress);
    mark('rootfs ready');
    if (lowerdir !== plan.lowerdir) throw new Error(`the image root is at ${lowerdir}, not ${plan.lowerdir}`);
    const d = containerDirs(this.deps.paths, plan.id);
    const write = async () => {
      // Everything is written into `<id>.tmp` and appears at once by renaming the directory, so
      // the files inside need no rename of their own.
      const tmp = `${d.dir}.tmp`;
      await fsp.mkdir(path.join(tmp, 'bundle', 'rootfs'), { recursive: true, mode: 0o700 });
      await fsp.mkdir(path.join(tmp, 'upper'), { mode: 0o755 });
      await fsp.mkdir(path.join(tmp, 'work'), { mode: 0o700 });
      await Promise.all([
        fsp.writeFile(path.join(tmp, 'hostname'), `${plan.spec.hostname}\n`),
        fsp.writeFile(
          path.join(tmp, 'hosts'),
          `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${plan.spec.hostname}\n`,
        ),
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
        command: plan.spec.process.args,
        options: plan.opts,
        limits: plan.limits,
        cgroups: {},
        idmapMode: this.tools().maps.mode,
        supplementaryGroups: groupsReachContainers(this.tools().maps.mode) ? this.deps.host.groups : [],
        warnings: plan.warnings,
        ...(plan.seccompDigest ? { seccompDigest: plan.seccompDigest } : {}),
        lowerdir: plan.lowerdir,
        ...(hostPaths.length ? { hostPaths } : {}),
        logConfig: logConfigOf(plan.opts.log),
      };
      // Owners and modes: moat keeps what it trusts; container root gets only what runc needs.
      await settleContainerDir(tmp, this.containerRootOwner());
      await writeFileAtomic(path.join(tmp, 'container.json'), JSON.stringify(rec, null, 2), 0o600);
      await fsp.rename(tmp, d.dir);
      return rec;
    };
    // A generated name is unique by construction (it holds the random ID); a chosen one is
    // checked against every container under a lock, so two concurrent creates cannot both win.
    if (plan.opts.name === undefined) return write();
    return withLock(path.join(this.deps.paths.locks, 'names.lock'), async () => {
      const existing = await this.containers.list();
      if (existing.some((c) => c.name === plan.name)) {
        throw new RuntimeError('RUNTIME_NAME_IN_USE', `the name "${plan.name}" is already in use`, {
          hint: `remove it with moat rm ${plan.name}, or choose another --name`,
        });
      }
      return write();
    });
  }

  /**
   * Run attached: a monitor supervises the container (see start.ts) while its output comes here;
   * returns the container's exit status, after --rm. `forwardSignals`: this process's signals go
   * to the container (the CLI; docker's sig-proxy).
   */
  async runAttached(
    rec: ContainerRecord,
    attach: Attach,
    o: { forwardSignals?: boolean } = { forwardSignals: true },
  ): Promise<RunOutcome> {
    return runAttached(this, rec, attach, o);
  }

  /** Start a created (or exited) container under a monitor process; resolves once it runs. */
  async startDetached(ref: string): Promise<ContainerRecord> {
    return startDetached(this, ref);
  }

  /**
   * ps: every record, with 'running' checked against reality (monitor, launcher, init alive);
   * broken records too (status 'broken'), so they can be seen and removed.
   */
  async list(all: boolean): Promise<ContainerRecord[]> {
    const out: ContainerRecord[] = [];
    for (const r of await this.containers.list()) {
      const fixed = await this.settle(r);
      if (fixed && (all || fixed.status === 'running')) out.push(fixed);
    }
    return out;
  }

  private async reconcile(r: ContainerRecord): Promise<ContainerRecord> {
    return reconcile(this, r);
  }

  /**
   * Reconcile, and honour --rm for a container whose monitor died before it could (undefined:
   * removed now).
   */
  private async settle(r: ContainerRecord): Promise<ContainerRecord | undefined> {
    const fixed = await this.reconcile(r);
    if (fixed.status !== 'exited' || !fixed.options.rm || !fixed.reconciled) return fixed;
    return (await removeExited(this, fixed.id).catch(() => false)) ? undefined : fixed;
  }

  /** A broken record cannot be acted on: say so (only rm -f and fsck handle it). */
  private usable(rec: ContainerRecord): ContainerRecord {
    if (rec.status !== 'broken') return rec;
    const ref = rec.name || rec.id.slice(0, 12);
    throw new RuntimeError('RUNTIME_CORRUPT_STATE', `container ${ref} has a broken record: ${rec.error}`, {
      hint: `remove it with moat rm -f ${ref} (moat system fsck lists what else is damaged)`,
    });
  }

  async inspect(
    ref: string,
  ): Promise<ContainerRecord & { spec?: OciSpec; effectiveLimits: ReturnType<typeof effectiveLimitsOf> }> {
    const rec = await this.reconcile(await this.containers.resolve(ref));
    const spec = JSON.parse(
      await fsp
        .readFile(path.join(containerDirs(this.deps.paths, rec.id).bundle, 'config.json'), 'utf8')
        .catch(() => 'null'),
    ) as OciSpec | null;
    return { ...rec, effectiveLimits: effectiveLimitsOf(rec, spec), ...(spec ? { spec } : {}) };
  }

  async kill(ref: string, signal = 'KILL'): Promise<ContainerRecord> {
    const rec = await this.reconcile(this.usable(await this.containers.resolve(ref)));
    const sig = signal.toUpperCase().replace(/^SIG/, '');
    if (!/^(\d{1,2}|[A-Z0-9+-]+)$/.test(sig))
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid signal "${signal}"`);
    if (rec.status !== 'running' || !rec.pid)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} is not running`);
    await runcKill(this.tools(), this.runc, rec.pid, rec.id, sig);
    return rec;
  }

  /**
   * Wait until the container is not running (default); with 'next-exit', a created container
   * must first run (docker run waits so before it starts one); with 'removed', until its record
   * is gone (--rm). A container removed meanwhile answers with the exit status noted at its
   * removal (exits.ts), else the last record seen.
   */
  async wait(
    ref: string,
    timeoutMs = Infinity,
    condition: 'not-running' | 'next-exit' | 'removed' = 'not-running',
  ): Promise<ContainerRecord> {
    let rec = this.usable(await this.containers.resolve(ref));
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      let cur: ContainerRecord | undefined;
      try {
        cur = await this.settle(await this.containers.load(rec.id));
      } catch (e) {
        if (!isMoatError(e) || e.code !== 'RUNTIME_CONTAINER_NOT_FOUND') throw e;
      }
      if (!cur) {
        const note = await readExit(this.deps.paths, rec.id);
        if (note)
          return {
            ...rec,
            status: 'exited',
            exitCode: note.exitCode,
            oomKilled: note.oomKilled,
            ...(note.finishedAt ? { finishedAt: note.finishedAt } : {}),
            ...(note.error ? { error: note.error } : {}),
          };
        if (condition === 'removed') return rec;
        return this.containers.load(rec.id); // throws: not found
      }
      rec = cur;
      const done =
        condition === 'removed'
          ? false
          : rec.status === 'exited' || (condition === 'not-running' && rec.status !== 'running');
      if (done || Date.now() > deadline) return rec;
      await new Promise((r) => setTimeout(r, i < 50 ? 20 : 100));
    }
  }

  async stop(ref: string, timeoutSec = 10): Promise<ContainerRecord> {
    const rec = await this.reconcile(this.usable(await this.containers.resolve(ref)));
    if (rec.status !== 'running') return rec;
    // The image may be gone (rmi -f while the container was stopped): stopping never needs it.
    const stopSignal =
      (await this.deps.images.configOf(rec.imageId).catch(() => undefined))?.config?.StopSignal ?? 'TERM';
    await this.kill(rec.id, stopSignal).catch(() => {});
    let after = await this.wait(rec.id, timeoutSec * 1000);
    if (after.status === 'running') {
      await this.kill(rec.id, 'KILL').catch(() => {});
      after = await this.wait(rec.id, 10_000);
    }
    return after;
  }

  /** rm: see remove.ts (-f ends a container in any state, a hanging start or a broken record too). */
  async remove(ref: string, force: boolean): Promise<string> {
    return removeContainer(this, ref, force);
  }

  /** `moat system fsck`: see fsck.ts. */
  async fsck(repair: boolean): Promise<FsckReport> {
    return fsckContainers(this, repair);
  }

  /** Run a command in a running container; returns its exit status (see exec.ts). */
  async exec(ref: string, cmd: string[], o: ExecOptions): Promise<number> {
    const rec = await this.reconcile(await this.containers.resolve(ref));
    if (rec.status !== 'running' || !rec.pid)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} is not running`, {
        hint: `start it with moat start ${rec.name}`,
      });
    return execInContainer({ paths: this.deps.paths, tools: this.tools(), runc: this.runc }, rec, cmd, o);
  }

  async logs(
    ref: string,
    out: { stdout: Writable; stderr: Writable; ready?: () => void },
    o: {
      follow: boolean;
      untilExit?: boolean;
      timestamps?: boolean;
      tail?: number;
      since?: number;
      until?: number;
    },
  ): Promise<void> {
    const rec = await this.containers.resolve(ref);
    const d = containerDirs(this.deps.paths, rec.id);
    const { untilExit, ...rest } = o;
    // The log's files are opened before `ready`: with --rm the monitor removes the container
    // (and its log) as it ends, and a follower must still get the last lines.
    await printLogs(d.log, out, {
      ...rest,
      maxFile: (rec.logConfig ?? logConfigOf(rec.options?.log)).maxFile,
      stillRunning: async () => {
        const s = await this.containers
          .load(rec.id)
          .then((r) => this.reconcile(r))
          .then(
            (r) => r.status,
            () => undefined, // removed (--rm): it has ended
          );
        return s === 'running' || (Boolean(untilExit) && s === 'created');
      },
    });
  }

  /** The containers (any state, 'running' checked against reality) that use this image. */
  async usersOf(imageId: string): Promise<ContainerRecord[]> {
    return (await this.list(true)).filter((c) => c.imageId === imageId);
  }

  rootfsPath(imageId: string): string {
    return rootfsDir(this.deps.paths.storage, imageId);
  }

  /** Remove an image's unpacked root, if there is one (only then is a user namespace needed). */
  async removeImageRootfs(imageId: string): Promise<void> {
    const dir = rootfsDir(this.deps.paths.storage, imageId);
    const present = await fsp.lstat(dir).then(
      () => true,
      () => false,
    );
    if (!present) {
      await fsp.rm(`${dir}.json`, { force: true });
      return;
    }
    await removeImageRootfs(this.rootfsDeps(), imageId);
  }
}
