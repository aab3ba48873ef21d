/**
 * Every operation moat offers, as routes of the one router. Handlers are thin: they call the
 * engine (containers) or the image store; the CLI and the HTTP API only build requests.
 */
import type { Engine, ContainerPlan } from '../runtime/engine.js';
import type { RunOptions } from '../runtime/options.js';
import { askRuntimeVersion } from '../runtime/runtime-facts.js';
import { sampleStats } from '../runtime/stats.js';
import { defineRoute, type AnyRoute, type RouteContext, type RequestIo } from './router.js';
import * as S from './schemas.js';
import { hostInfo } from './info.js';
import { ApiError } from './errors.js';
import { type HostPathFact } from './host-facts.js';
import { containerFacts, decidedContainer, decidedUser, execFacts, startFacts } from './container-facts.js';
import { imageFacts } from './image-facts.js';
import type { SignatureFacts } from '../trust/facts.js';
import { hostFacts } from './host-runtime-facts.js';
import { serviceRoute } from './service-route.js';

type Ctx<B> = RouteContext<B>;

function io(ctx: Ctx<unknown>): RequestIo {
  if (!ctx.req.io) throw new ApiError('API_INVALID_REQUEST', `${ctx.req.path} needs attached streams`);
  return ctx.req.io;
}

/**
 * Facts the policy sees about a container that is about to be created: the image (every name,
 * its ID and digest, see image-facts.ts), the spec, the host paths the request names (canonical,
 * for rules about remote subjects) and the paths moat protects from bind mounts.
 */
/**
 * The trust and scan fact readers (and the trust policy's parser) are loaded by run and create
 * only (run-readers.ts): every other command (ps, logs, stop...) starts without them.
 */
const recordReaders = () =>
  import('./run-readers.js').then((r) => ({
    signatureFacts: r.signatureFacts,
    signersOf: r.signersOf,
    imageScanFacts: r.imageScanFacts,
  }));
type RecordReaders = Awaited<ReturnType<typeof recordReaders>>;

function planFacts(
  plan: ContainerPlan,
  engine: Engine,
  { signatureFacts, signersOf, imageScanFacts }: RecordReaders,
): Record<string, unknown> {
  const image = imageFacts(plan.image, plan.opts.image);
  const signature = signatureFacts(engine, plan.image, image.reference);
  const scan = imageScanFacts(engine, plan.image);
  return {
    image: { ...image, signature, signers: signersOf(signature), ...(scan ? { scan } : {}) },
    spec: plan.spec,
    limits: plan.limits,
    warnings: plan.warnings,
    host: hostFacts(engine),
    host_paths: runHostPaths(plan),
  };
}

/**
 * The host paths a run names: its bind sources (mounted) and its seccomp profile (read), each
 * as the plan resolved it (the same canonical path the spec mounts or the profile was read from).
 */
function runHostPaths(plan: ContainerPlan): HostPathFact[] {
  const o = plan.opts;
  return [
    // A volume's directory is moat's, made from its name: not a host path the request names.
    ...o.volumes.flatMap((v, i) =>
      v.volume === undefined
        ? [{ path: plan.sources[i], raw: v.host, use: 'mount' as const, readonly: v.readonly }]
        : [],
    ),
    ...(o.seccompProfile && plan.seccompFile
      ? [{ path: plan.seccompFile.path, raw: o.seccompProfile, use: 'read' as const }]
      : []),
  ];
}

/**
 * The facts of a run or create: the plan (engine.plan), which is side-effect free — no unpacking,
 * no container state, no file a remote subject names opened (its volume sources are resolved,
 * not opened; its seccomp profile is read after the allow). So a denied run leaves nothing
 * behind, and whether a host path exists is told only after the policy allowed naming it.
 */
async function runFacts(engine: Engine, ctx: Ctx<{ options: RunOptions }>): Promise<Record<string, unknown>> {
  const local = (ctx.req.subject.local ?? ctx.req.subject.via === 'cli') !== false;
  // The runtime's version (host facts) is asked now and read after planning: runc starts meanwhile.
  const runtimeAsked = askRuntimeVersion(engine.deps.host.tools?.runc, engine.deps.paths.runtime);
  const plan = await engine.plan(ctx.body.options, { readRequestFiles: local });
  const readers = await recordReaders();
  await runtimeAsked;
  return { plan, ...planFacts(plan, engine, readers) };
}

/**
 * An image the trust policy does not accept is not run, whatever the admission policy said: the
 * refusal is TRUST_* (exit 4), before anything is created. The facts carry the decision read from
 * the verification records (trust-facts.ts).
 */
async function trustGate(ctx: Ctx<unknown>): Promise<void> {
  const { assertFactsAccepted } = await import('./run-readers.js');
  const image = ctx.facts.image as { signature?: SignatureFacts; reference?: string } | undefined;
  if (!image?.signature) throw new ApiError('API_INTERNAL', 'no trust decision for this image');
  assertFactsAccepted(image.signature, image.reference ?? 'the image');
}

export function containerRoutes(engine: Engine): AnyRoute[] {
  const planOf = (ctx: Ctx<unknown>): ContainerPlan => {
    if (!ctx.facts.plan) throw new ApiError('API_INTERNAL', 'no plan for this container');
    return ctx.facts.plan as ContainerPlan;
  };
  const routes: AnyRoute[] = [
    defineRoute({
      method: 'GET',
      path: '/info',
      action: 'system.info',
      body: S.empty,
      handler: async () => hostInfo(engine),
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/create',
      action: 'container.create',
      body: S.runBody,
      facts: async (ctx) => {
        return runFacts(engine, ctx);
      },
      handler: async (ctx) => {
        await trustGate(ctx);
        const rec = await engine.commit(planOf(ctx), ctx.req.io?.progress);
        return { id: rec.id, name: rec.name, warnings: rec.warnings };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/run',
      action: 'container.run',
      body: S.runBody,
      facts: async (ctx) => {
        return runFacts(engine, ctx);
      },
      handler: async (ctx) => {
        await trustGate(ctx);
        const rec = await engine.commit(planOf(ctx), ctx.req.io?.progress);
        // --rm is the monitor's to honour, when the container ends (or fails to start).
        if (ctx.body.detach) {
          await engine.startDetached(rec.id);
          return { id: rec.id, name: rec.name, warnings: rec.warnings };
        }
        const s = io(ctx);
        const out = await engine.runAttached(
          rec,
          {
            stdin: rec.options.interactive ? s.stdin : undefined,
            stdout: s.stdout,
            stderr: s.stderr,
            ...(s.console ? { console: s.console } : {}),
          },
          // The CLI passes its signals on to the container (docker's sig-proxy); a service does not.
          { forwardSignals: ctx.req.subject.via === 'cli' },
        );
        return {
          id: rec.id,
          name: rec.name,
          exitCode: out.exitCode,
          started: out.started,
          error: out.error,
          ...(out.detached ? { detached: true } : {}),
          warnings: rec.warnings,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/start',
      action: 'container.start',
      body: S.startBody,
      facts: async (ctx) => startFacts(engine, ctx),
      handler: async (ctx) => {
        if (!ctx.body.attach) {
          const rec = await engine.startDetached(decidedContainer(ctx));
          return { id: rec.id, name: rec.name };
        }
        // start -a: as run, attached (the container decided on, started from its record).
        const rec = await engine.containers.resolve(decidedContainer(ctx));
        const s = io(ctx);
        const out = await engine.runAttached(
          rec,
          {
            stdin: rec.options.interactive && ctx.body.interactive ? s.stdin : undefined,
            stdout: s.stdout,
            stderr: s.stderr,
            ...(s.console ? { console: s.console } : {}),
          },
          { forwardSignals: ctx.req.subject.via === 'cli', ...(s.ready ? { onStarted: s.ready } : {}) },
        );
        return {
          id: rec.id,
          name: rec.name,
          exitCode: out.exitCode,
          started: out.started,
          error: out.error,
          ...(out.detached ? { detached: true } : {}),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/attach',
      action: 'container.attach',
      body: S.attachBody,
      // As start's: the record, spec, image and the container's process (its terminal, user, command).
      facts: async (ctx) => startFacts(engine, ctx),
      handler: async (ctx) => {
        const s = io(ctx);
        const end = await engine.attach(decidedContainer(ctx), {
          stdin: ctx.body.stdin ? s.stdin : undefined,
          stdout: s.stdout,
          stderr: s.stderr,
          ...(s.console ? { console: s.console } : {}),
        });
        return end;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/containers',
      action: 'container.list',
      body: S.listBody,
      handler: async (ctx) => engine.list(Boolean(ctx.body.all)),
    }),
    defineRoute({
      method: 'GET',
      path: '/containers/:id/json',
      action: 'container.inspect',
      body: S.empty,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => engine.inspect(ctx.params.id),
    }),
    defineRoute({
      method: 'GET',
      path: '/containers/:id/logs',
      action: 'container.logs',
      body: S.logsBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        await engine.logs(ctx.params.id, io(ctx), {
          follow: Boolean(ctx.body.follow),
          untilExit: Boolean(ctx.body.untilExit),
          timestamps: ctx.body.timestamps,
          tail: ctx.body.tail,
          since: ctx.body.since,
          until: ctx.body.until,
        });
        return {};
      },
    }),
    defineRoute({
      // One sample of the container's resource use (docker stats asks again for a stream).
      method: 'GET',
      path: '/containers/:id/stats',
      action: 'container.stats',
      body: S.empty,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => sampleStats(await engine.inspect(ctx.params.id)),
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/stop',
      action: 'container.stop',
      body: S.stopBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const r = await engine.stop(ctx.params.id, ctx.body.timeout);
        return { id: r.id, name: r.name, status: r.status, exitCode: r.exitCode };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/kill',
      action: 'container.kill',
      body: S.killBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const r = await engine.kill(ctx.params.id, ctx.body.signal);
        return { id: r.id, name: r.name };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/wait',
      action: 'container.wait',
      body: S.waitBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => {
        const r = await engine.wait(ctx.params.id, Infinity, ctx.body.condition);
        return { id: r.id, exitCode: r.exitCode, oomKilled: r.oomKilled ?? false };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/containers/:id',
      action: 'container.remove',
      body: S.removeBody,
      facts: async (ctx) => containerFacts(engine, ctx),
      handler: async (ctx) => ({
        id: await engine.remove(ctx.params.id, Boolean(ctx.body.force), Boolean(ctx.body.volumes)),
      }),
    }),
    defineRoute({
      method: 'POST',
      path: '/containers/:id/exec',
      action: 'container.exec',
      body: S.execBody,
      facts: async (ctx) => execFacts(engine, ctx),
      handler: async (ctx) => {
        const s = io(ctx);
        // As the policy saw it: that container, that user (resolved then).
        const exitCode = await engine.exec(decidedContainer(ctx), ctx.body.cmd, {
          env: ctx.body.env ?? [],
          user: ctx.body.user,
          resolvedUser: decidedUser(ctx),
          workdir: ctx.body.workdir,
          stdio: { stdin: ctx.body.interactive ? s.stdin : undefined, stdout: s.stdout, stderr: s.stderr },
          tty: Boolean(ctx.body.tty),
          ...(s.console ? { console: s.console } : {}),
          ...(s.ready ? { onStarted: s.ready } : {}),
        });
        return { exitCode };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/system/fsck',
      action: 'system.fsck',
      body: S.fsckBody,
      handler: async (ctx) => engine.fsck(Boolean(ctx.body.repair)),
    }),
    serviceRoute(),
  ];
  return routes;
}
