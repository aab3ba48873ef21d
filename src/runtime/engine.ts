/**
 * Container lifecycle: create, start (attached or detached), stop, kill, exec, wait, remove,
 * inspect, list with reconciliation. The API handlers call these; nothing else touches runc.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { isMoatError } from '../errors.js';
import type { ImageStore } from '../image/store.js';
import type { UsernsTools } from '../userns/exec.js';
import type { MoatPaths } from '../util/paths.js';
import { commitPlan } from './create.js';
import { effectiveLimitsOf } from './default-limits.js';
import { execInContainer, type ExecOptions } from './exec.js';
import { RuntimeError } from './errors.js';
import type { HostFacts } from './host.js';
import { containerRootOwner, runcConfig, usernsTools } from './host-tools.js';
import { ImageRoots, type LiveUnpacker } from './image-roots.js';
import { logConfigOf, printLogs } from './logs/index.js';
import type { OciSpec } from './oci.js';
import type { RunOptions } from './options.js';
import { planContainer, type ContainerPlan, type PlanOptions } from './plan.js';
import { runcKill, type RuncConfig } from './runc.js';
import { containerDirs, ContainerStore, type ContainerRecord } from './state.js';
import { readExit } from './exits.js';
import { fsckContainers, type FsckReport } from './fsck.js';
import { thawAfterKill } from './freezer.js';
import { reconcile } from './reconcile.js';
import { removeContainer, removeExited } from './remove.js';
import { attachSocket, type AttachIo } from './attach/client.js';
import { attachSocketPath } from './attach/socket-path.js';
import { runAttached, startDetached, type AttachedStart } from './start.js';
import type { Attach, RunOutcome } from './supervise.js';
import { containerEvent } from './events/index.js';
import { VolumeStore } from './volumes/store.js';
import { readNetworkState } from './network/stop.js';
import type { PortSpec } from './network/ports.js';

export interface EngineDeps {
  paths: MoatPaths;
  host: HostFacts;
  images: ImageStore;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export type { ContainerPlan, PlanOptions } from './plan.js';

export class Engine {
  readonly containers: ContainerStore;
  readonly runc: RuncConfig;
  /** The unpacked image roots (image-roots.ts). */
  readonly imageRoots: ImageRoots;
  /** Named and anonymous volumes (volumes/store.ts). */
  readonly volumes: VolumeStore;
  private toolsCache?: UsernsTools;

  constructor(readonly deps: EngineDeps) {
    this.containers = new ContainerStore(deps.paths);
    this.volumes = new VolumeStore(deps.paths);
    this.runc = runcConfig(deps.host, deps.paths);
    this.imageRoots = new ImageRoots(deps.paths, deps.images, () => this.tools());
  }

  /** The user-namespace tools, or a clear error saying what the host lacks. */
  tools(): UsernsTools {
    return (this.toolsCache ??= usernsTools(this.deps.host, this.deps.paths));
  }

  /** For root: the host IDs of container root (files it must own); undefined otherwise. */
  containerRootOwner(): { uid: number; gid: number } | undefined {
    return containerRootOwner(this.deps.host, () => this.tools());
  }

  /** For `moat pull`: see ImageRoots.liveUnpacker. */
  liveUnpacker(): LiveUnpacker | undefined {
    return this.imageRoots.liveUnpacker();
  }

  /** Remove unpack trees that a dead moat left half-made (see rootfs.ts); returns their paths. */
  async removeStaleUnpacks(minAgeMs: number): Promise<string[]> {
    return this.imageRoots.removeStaleUnpacks(minAgeMs);
  }

  /**
   * Everything the policy decides a run or create on, and nothing more: resolve the image, generate
   * the spec. Facts are reads: this unpacks nothing, creates nothing and opens no file a request
   * names except, for the local owner, a seccomp profile (read once: its bytes are what runs). The
   * volume sources are resolved (canonical paths), not opened; `commit` does the rest after an allow.
   */
  async plan(opts: RunOptions, po: PlanOptions): Promise<ContainerPlan> {
    return planContainer(this, opts, po);
  }

  /**
   * After an allow: pin the host paths the policy saw (host-paths.ts), read a seccomp profile not
   * read yet, unpack the image's root if needed, then write the container's bundle and record
   * (status 'created').
   */
  async commit(plan: ContainerPlan, onProgress?: (msg: string) => void): Promise<ContainerRecord> {
    const rec = await commitPlan(this, plan, onProgress);
    containerEvent(this.deps.paths.data, 'create', rec);
    return rec;
  }

  /**
   * Run attached: a monitor supervises the container (see start.ts) while its output comes here;
   * returns the container's exit status, after --rm (see AttachedStart for the options).
   */
  async runAttached(
    rec: ContainerRecord,
    attach: Attach,
    o: AttachedStart = { forwardSignals: true },
  ): Promise<RunOutcome> {
    return runAttached(this, rec, attach, o);
  }

  /**
   * Attach to a running container through its monitor (attach/): its output from now on, stdin
   * when it keeps stdin open (-i) and `io.stdin` is given, a terminal's resizes and detach keys.
   * Resolves with its exit status when it ends, or `detached`.
   */
  async attach(ref: string, io: AttachIo): Promise<{ exitCode?: number; detached?: boolean }> {
    const rec = await this.reconcile(await this.containers.resolve(ref));
    if (rec.status !== 'running')
      throw new RuntimeError('RUNTIME_INVALID_STATE', `cannot attach to ${rec.name}: it is not running`, {
        hint: `start it attached: moat start -a${rec.options?.interactive ? 'i' : ''} ${rec.name}`,
      });
    const file = attachSocketPath(this.deps.paths, rec.id);
    containerEvent(this.deps.paths.data, 'attach', rec);
    let end;
    try {
      if (!file) throw Object.assign(new Error('socket path too long'), { code: 'ENAMETOOLONG' });
      end = await attachSocket(file, { ...io, ...(rec.options.interactive ? {} : { stdin: undefined }) });
    } catch (e) {
      throw new RuntimeError(
        'RUNTIME_INVALID_STATE',
        `cannot attach to ${rec.name}: its monitor does not answer (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        {
          hint: `a container started by an older moat cannot be attached: moat logs -f ${rec.name} follows its output`,
        },
      );
    }
    if ('lost' in end) {
      const cur = await this.inspect(rec.id).catch(() => undefined);
      return { exitCode: cur?.exitCode ?? 125 };
    }
    return end;
  }

  /** Marks a container with a restart policy stopped by hand (restart.ts). */
  private async markStopped(rec: ContainerRecord): Promise<void> {
    const p = rec.options?.restart;
    if (!p || p.name === 'no') return;
    await this.containers
      .update(rec.id, async (r) => {
        r.manualStop = true;
        await this.containers.save(r);
      })
      .catch(() => {});
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

  async inspect(ref: string): Promise<
    ContainerRecord & {
      spec?: OciSpec;
      effectiveLimits: ReturnType<typeof effectiveLimitsOf>;
      /** The ports it publishes now, host ports as chosen (running containers with a network). */
      publishedPorts?: PortSpec[];
    }
  > {
    const rec = await this.reconcile(await this.containers.resolve(ref));
    const d = containerDirs(this.deps.paths, rec.id);
    const spec = JSON.parse(
      await fsp.readFile(path.join(d.bundle, 'config.json'), 'utf8').catch(() => 'null'),
    ) as OciSpec | null;
    const net = rec.status === 'running' ? await readNetworkState(d.networkState) : undefined;
    return {
      ...rec,
      effectiveLimits: effectiveLimitsOf(rec, spec),
      ...(spec ? { spec } : {}),
      ...(net ? { publishedPorts: net.ports } : {}),
    };
  }

  async kill(ref: string, signal: string): Promise<ContainerRecord> {
    const rec = await this.reconcile(this.usable(await this.containers.resolve(ref)));
    const sig = signal.toUpperCase().replace(/^SIG/, '');
    if (!/^(\d{1,2}|[A-Z0-9+-]+)$/.test(sig))
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid signal "${signal}"`);
    if (rec.status !== 'running' || !rec.pid)
      throw new RuntimeError('RUNTIME_INVALID_STATE', `container ${rec.name} is not running`);
    await this.markStopped(rec);
    await runcKill(this.tools(), this.runc, rec.pid, rec.id, sig);
    await thawAfterKill(rec, sig);
    containerEvent(this.deps.paths.data, 'kill', rec, { signal: sig });
    return rec;
  }

  /**
   * Wait until the container is not running (default); with 'next-exit', until its next exit (a
   * created or exited one must first run: docker run and start -a wait so before they start it);
   * with 'removed', until its record is gone (--rm). A container removed meanwhile answers with
   * the exit status noted at its removal (exits.ts), else the last record seen.
   */
  async wait(
    ref: string,
    timeoutMs = Infinity,
    condition: 'not-running' | 'next-exit' | 'removed' = 'not-running',
  ): Promise<ContainerRecord> {
    let rec = this.usable(await this.containers.resolve(ref));
    // next-exit of a container that has exited: its next exit, not the one it has (docker start -a).
    const previous =
      condition === 'next-exit' && rec.status === 'exited' ? (rec.finishedAt ?? '') : undefined;
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
          : (rec.status === 'exited' && (previous === undefined || (rec.finishedAt ?? '') !== previous)) ||
            (condition === 'not-running' && rec.status !== 'running');
      if (done || Date.now() > deadline) return rec;
      await new Promise((r) => setTimeout(r, i < 50 ? 20 : 100));
    }
  }

  async stop(ref: string, timeoutSec: number): Promise<ContainerRecord> {
    const rec = await this.reconcile(this.usable(await this.containers.resolve(ref)));
    // Stopped by hand: no restart policy runs it again (also one waiting to restart).
    await this.markStopped(rec);
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
    containerEvent(this.deps.paths.data, 'stop', rec);
    return after;
  }

  /** rm [-v]: see remove.ts (-f ends a container in any state, a hanging start or a broken record too). */
  async remove(ref: string, force: boolean, volumes = false): Promise<string> {
    return removeContainer(this, ref, force, volumes);
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
    const data = this.deps.paths.data;
    const what = `: ${cmd.join(' ')}`.slice(0, 200);
    containerEvent(data, `exec_create${what}`, rec);
    containerEvent(data, `exec_start${what}`, rec);
    const code = await execInContainer(
      { paths: this.deps.paths, tools: this.tools(), runc: this.runc },
      rec,
      cmd,
      o,
    );
    containerEvent(data, 'exec_die', rec, { exitCode: code });
    return code;
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

  /** Remove an image's unpacked root, if there is one: see ImageRoots.remove. */
  async removeImageRootfs(imageId: string): Promise<void> {
    return this.imageRoots.remove(imageId);
  }
}
