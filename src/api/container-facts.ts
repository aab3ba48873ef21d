/**
 * What the policy sees about an existing container. Every route that acts on one gets its record
 * (`facts.container`) and its stored OCI spec (`facts.spec`, what runc runs). The routes that make
 * it run something — start and exec — also get what run and create get, in the same shapes: the
 * image (`facts.image`), the run summary (`facts.run`, from the recorded options and the stored
 * spec, mount sources canonical as they resolve now), moat's protected paths (`facts.host`) and
 * the process about to run (`facts.process`: the container's own for start, exec's command for
 * exec). So a rule written for run holds for start and exec: a container created under a looser
 * policy is judged again when it starts, and `exec -u 0` is judged as a run as root.
 *
 * Facts are reads: only what is recorded (the record, the bundle's config.json, exec's user
 * resolved against the container's own /etc/passwd), no reconciliation, no errors. A container
 * that cannot be found gives no facts; the handler reports it after the decision. The handler
 * acts on the container the policy saw (its ID) and, for exec, as the user the policy saw.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../runtime/engine.js';
import { resolveExecUser, type ExecUser } from '../runtime/exec.js';
import type { OciSpec } from '../runtime/oci.js';
import { containerDirs, type ContainerRecord } from '../runtime/state.js';
import { recordImageFacts } from './image-facts.js';
import { hostFacts } from './host-runtime-facts.js';
import { runSummary } from './policy-hook.js';
import { processFacts, type ExecRequest } from './process-facts.js';
import type { RouteContext } from './router.js';

/** The record as the policy sees it: who it is, what it was made from and with. */
export interface ContainerRecordFacts {
  id: string;
  name: string;
  /** The image as typed at create. */
  image: string;
  image_id: string;
  /** As recorded (not checked against the processes: facts are reads). */
  status: ContainerRecord['status'];
  created: string;
  command: string[];
  /** The run options it was created with (the body of its create, validated). */
  options: ContainerRecord['options'];
  limits: ContainerRecord['limits'];
}

interface Decided {
  id: string;
  /** exec's `-u`, resolved when the facts were made (or why it could not be). */
  user?: { ids: ExecUser } | { error: unknown };
}

/** What the facts of a request found, for its handler: it acts on what the policy saw. */
const decided = new WeakMap<object, Decided>();

async function load(
  engine: Engine,
  ref: string,
): Promise<{ rec: ContainerRecord; spec?: OciSpec } | undefined> {
  let rec: ContainerRecord;
  try {
    rec = await engine.containers.resolve(ref);
  } catch {
    return undefined;
  }
  const spec = await Promise.resolve()
    .then(() =>
      fsp.readFile(path.join(containerDirs(engine.deps.paths, rec.id).bundle, 'config.json'), 'utf8'),
    )
    .then((t) => JSON.parse(t) as unknown)
    .catch(() => undefined);
  return { rec, ...(spec && typeof spec === 'object' ? { spec: spec as OciSpec } : {}) };
}

export function recordFacts(rec: ContainerRecord): ContainerRecordFacts {
  return {
    id: rec.id,
    name: rec.name,
    image: rec.image,
    image_id: rec.imageId,
    status: rec.status,
    created: rec.created,
    command: rec.command,
    options: rec.options,
    limits: rec.limits,
  };
}

/** The container a request names, noted as the one the policy decides on (none: no facts). */
async function loadDecided(engine: Engine, ctx: RouteContext<unknown>) {
  const c = await load(engine, ctx.params.id);
  if (c) decided.set(ctx, { id: c.rec.id });
  return c;
}

/** Facts of a route that acts on a container without running anything in it (stop, rm, logs…). */
export async function containerFacts(
  engine: Engine,
  ctx: RouteContext<unknown>,
): Promise<Record<string, unknown>> {
  const c = await loadDecided(engine, ctx);
  if (!c) return {};
  return { container: recordFacts(c.rec), ...(c.spec ? { spec: c.spec } : {}) };
}

/** What start and exec share: the record, the spec, the image, the run summary, moat's paths. */
async function runningFacts(
  engine: Engine,
  c: { rec: ContainerRecord; spec?: OciSpec },
): Promise<Record<string, unknown>> {
  const { rec, spec } = c;
  // A record without a readable spec cannot start (runc needs it): nothing more to judge. A
  // damaged record (moat ps shows it as Broken) may lack fields the summary reads: facts never
  // throw, and the handler then reports the damage (RUNTIME_CORRUPT_STATE).
  let run: Record<string, unknown> | undefined;
  if (spec && rec.options && typeof rec.options === 'object') {
    try {
      run = runSummary({
        opts: rec.options,
        spec,
        limits: rec.limits,
        seccompDigest: rec.seccompDigest,
        ...(rec.network ? { network: rec.network } : {}),
      });
    } catch {
      run = undefined;
    }
  }
  return {
    container: recordFacts(rec),
    image: await recordImageFacts(engine, rec),
    host: hostFacts(engine),
    ...(spec && run ? { spec, run } : {}),
  };
}

/** `container.start`: the container's record, spec, image, run summary and its own process. */
export async function startFacts(
  engine: Engine,
  ctx: RouteContext<unknown>,
): Promise<Record<string, unknown>> {
  const c = await loadDecided(engine, ctx);
  if (!c) return {};
  const facts = await runningFacts(engine, c);
  if (!facts.run || !c.spec) return facts;
  try {
    return { ...facts, process: processFacts(c.spec) };
  } catch {
    return facts;
  }
}

/**
 * `container.exec`: as start, with `process` the command exec starts. Its `-u` is resolved now,
 * against the container's /etc/passwd, as exec resolves it; a name that is not there gives the
 * name as typed and no UID (exec then reports it, after the decision).
 */
export async function execFacts(
  engine: Engine,
  ctx: RouteContext<ExecRequest>,
): Promise<Record<string, unknown>> {
  const c = await loadDecided(engine, ctx);
  if (!c) return {};
  const d = decided.get(ctx)!;
  let ids: ExecUser | undefined;
  if (ctx.body.user) {
    try {
      ids = await resolveExecUser(engine.deps.paths, c.rec, ctx.body.user);
      d.user = { ids };
    } catch (e) {
      d.user = { error: e };
    }
  }
  return { ...(await runningFacts(engine, c)), process: processFacts(c.spec, ctx.body, ids) };
}

/** The container the policy decided on (its ID); the reference as sent when none was found. */
export function decidedContainer(ctx: RouteContext<unknown>): string {
  return decided.get(ctx)?.id ?? ctx.params.id;
}

/**
 * exec's user as the policy saw it (undefined: the container's own user, or no container found);
 * throws why `-u` could not be resolved.
 */
export function decidedUser(ctx: RouteContext<unknown>): ExecUser | undefined {
  const u = decided.get(ctx)?.user;
  if (!u) return undefined;
  if ('error' in u) throw u.error;
  return u.ids;
}
