/**
 * `update`: runc changes a running container's cgroup limits (`runc update --resources FILE|-`,
 * or `--pids-limit`, `--memory`, ... flags), which can lift the limits the policy saw at create.
 * moat-runtime asks the policy first (`oci.update`, POST /oci/update on moat's router, decided in
 * this process by the same Rego policy), then hands runc exactly what was judged:
 *
 * - with `--resources`, runc ignores the other resource flags; the file (or stdin) is read as a
 *   caller's file is (no symlink, regular, bounded, exactly-spelled keys), and runc gets a private
 *   copy of what was parsed, removed when it returns (stdin has been read by then);
 * - the limits asked for, in runc's terms: pids 0 (or absent) leaves the limit as it is, a
 *   negative one removes it, as does `unified["pids.max"] = "max"` (cgroup v2); memory -1 removes
 *   the limit;
 * - the container's current spec: `runc state ID` names its bundle, which for a container moat
 *   created is `<bundle>/.moat-runtime`, holding the spec runc was given (create.ts). Not found
 *   (another runtime's container, or runc cannot say): current is null.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { defineRoute, type AnyRoute } from '../api/router.js';
import { flagArgs, str, type Invocation } from './argv.js';
import { ociConfig, OCI_DEFAULTS } from './config.js';
import { OciError } from './errors.js';
import { podFacts } from './facts.js';
import { decisionLog, type RuncLog } from './log.js';
import { NESTED_ENV } from './runc.js';
import { checkKeys, MAX_SPEC_BYTES, readBounded, type CallerSpec } from './spec.js';

export const ociUpdateBody = {
  type: 'object',
  required: ['id', 'resources'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 1024 },
    /** The resources runc is to apply, as it reads them (LinuxResources). */
    resources: { type: 'object' },
    /** The container's current spec (moat's copy), if found. */
    current: { type: ['object', 'null'], default: null },
    /** Where runc says the container's bundle is. */
    bundle: { type: ['string', 'null'], maxLength: 4096, default: null },
    /** oci.json's pidsLimit (0: none). */
    pidsLimit: { type: 'integer', minimum: 0, default: OCI_DEFAULTS.pidsLimit },
  },
} as const;

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The pids limit an update asks for: null leaves it as it is, -1 removes it. */
export function requestedPids(resources: Record<string, unknown>): number | null {
  const unified = resources.unified;
  if (isObj(unified) && typeof unified['pids.max'] === 'string') {
    const v = unified['pids.max'].trim();
    if (v === 'max') return -1;
    if (/^\d+$/.test(v)) return Number(v);
  }
  const pids = resources.pids;
  const limit = isObj(pids) ? pids.limit : undefined;
  if (typeof limit !== 'number' || limit === 0) return null;
  return limit < 0 ? -1 : limit;
}

/** The memory limit an update asks for: null leaves it as it is, -1 removes it. */
export function requestedMemory(resources: Record<string, unknown>): number | null {
  const mem = resources.memory;
  const limit = isObj(mem) ? mem.limit : undefined;
  if (typeof limit !== 'number') return null;
  return limit < 0 ? -1 : limit;
}

function currentLimits(
  spec: CallerSpec | null,
): { pids_limit: number | null; memory_limit: number | null } | null {
  if (!spec) return null;
  const r = (spec.linux?.resources ?? {}) as Record<string, unknown>;
  const pids = isObj(r.pids) && typeof r.pids.limit === 'number' && r.pids.limit > 0 ? r.pids.limit : null;
  const mem =
    isObj(r.memory) && typeof r.memory.limit === 'number' && r.memory.limit > 0 ? r.memory.limit : null;
  return { pids_limit: pids, memory_limit: mem };
}

/** The `oci.update` route: facts for the policy; the handler only says it was allowed. */
export function ociUpdateRoute(): AnyRoute {
  return defineRoute({
    method: 'POST',
    path: '/oci/update',
    action: 'oci.update',
    body: ociUpdateBody,
    facts: async ({ body }) => {
      const current = isObj(body.current) ? (body.current as CallerSpec) : null;
      const annotations = isObj(current?.annotations) ? current.annotations : {};
      return {
        update: {
          id: body.id,
          resources: body.resources,
          pids_limit: requestedPids(body.resources),
          memory_limit: requestedMemory(body.resources),
          current: currentLimits(current),
          default_pids_limit: body.pidsLimit,
        },
        pod: podFacts(annotations),
        caller: { id: body.id, bundle: body.bundle, annotations },
      };
    },
    handler: async () => ({ allowed: true }),
  });
}

// ---------------------------------------------------------------- the command

/** The resources runc would build from update's flags (runc's update.go, without --resources). */
export function resourcesFromFlags(flags: Invocation['flags']): Record<string, unknown> {
  const int = (name: string): number | undefined => {
    const v = str(flags, name);
    if (v === undefined || v === '') return undefined;
    if (!/^-?\d+$/.test(v))
      throw new OciError('OCI_USAGE', `invalid value for --${name}: ${v.slice(0, 100)}`);
    return Number(v);
  };
  const bytes = (name: string): number | undefined => {
    const v = str(flags, name);
    if (v === undefined || v === '') return undefined;
    if (v === '-1') return -1;
    const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v);
    if (!m) throw new OciError('OCI_USAGE', `invalid value for --${name}: ${v.slice(0, 100)}`);
    const unit =
      { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }[m[2].toLowerCase()] ?? 1;
    return Math.floor(Number(m[1]) * unit);
  };
  const drop = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const memory = drop({
    limit: bytes('memory'),
    swap: bytes('memory-swap'),
    reservation: bytes('memory-reservation'),
  });
  const cpu = drop({
    shares: int('cpu-share'),
    quota: int('cpu-quota'),
    period: int('cpu-period'),
    realtimeRuntime: int('cpu-rt-runtime'),
    realtimePeriod: int('cpu-rt-period'),
    cpus: str(flags, 'cpuset-cpus'),
    mems: str(flags, 'cpuset-mems'),
  });
  const weight = int('blkio-weight');
  return {
    memory,
    cpu,
    blockIO: weight === undefined ? {} : { weight },
    // runc sets the pids limit from the flag whether given or not: 0 leaves it as it is.
    pids: { limit: int('pids-limit') ?? 0 },
  };
}

async function readStdin(stdin: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const b of stdin) {
    n += b.length;
    if (n > MAX_SPEC_BYTES)
      throw new OciError('OCI_SPEC_INVALID', `resources on stdin: larger than ${MAX_SPEC_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseResources(text: string, where: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new OciError('OCI_SPEC_INVALID', `${where}: not JSON (${(e as Error).message})`);
  }
  if (!isObj(j)) throw new OciError('OCI_SPEC_INVALID', `${where}: not a JSON object`);
  checkKeys(j, '(resources)', 0);
  return j;
}

/** moat's copy of the container's spec, from the bundle `runc state` names; null if not found. */
export function currentSpec(
  runtime: string,
  globals: string[],
  id: string,
): { bundle: string | null; spec: CallerSpec | null } {
  const r = spawnSync(runtime, [...globals, 'state', id], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, [NESTED_ENV]: '1' },
  });
  if (r.status !== 0) return { bundle: null, spec: null };
  let bundle: string | null = null;
  try {
    const b = (JSON.parse(r.stdout) as { bundle?: unknown }).bundle;
    bundle = typeof b === 'string' && path.isAbsolute(b) ? b : null;
  } catch {
    return { bundle: null, spec: null };
  }
  if (!bundle) return { bundle, spec: null };
  try {
    const j = JSON.parse(readBounded(path.join(bundle, 'config.json'), 'OCI_SPEC_INVALID')) as unknown;
    return { bundle, spec: isObj(j) ? (j as CallerSpec) : null };
  } catch {
    return { bundle, spec: null };
  }
}

export interface PreparedUpdate {
  /** update's flags and arguments as runc gets them. */
  args: string[];
  cleanup: () => Promise<void>;
}

/** Read what the update asks for, ask the policy (throws when denied), and say what runc gets. */
export async function prepareUpdate(
  inv: Invocation,
  log: RuncLog,
  runtime: string,
  globals: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdin: AsyncIterable<Buffer> = process.stdin,
): Promise<PreparedUpdate> {
  const cfg = ociConfig(env);
  const id = inv.args[0];
  const file = str(inv.flags, 'resources');
  const resources =
    file === undefined
      ? resourcesFromFlags(inv.flags)
      : file === '-'
        ? parseResources(await readStdin(stdin), 'resources on stdin')
        : parseResources(readBounded(file, 'OCI_SPEC_INVALID'), file);
  const { bundle, spec } = currentSpec(runtime, globals, id);
  const [{ Router }, { regoHook, policyPaths }] = await Promise.all([
    import('../api/router.js'),
    import('../api/policy-hook.js'),
  ]);
  const router = new Router([ociUpdateRoute()], regoHook(policyPaths(env)), (e) =>
    decisionLog(
      log,
      env,
      e.decision.allow ? 'info' : 'error',
      `moat: ${e.input.action} ${e.decision.allow ? 'allowed' : 'denied'}`,
      { id, policy: e.decision.policy, reasons: e.decision.reasons, ms: Number(e.ms.toFixed(3)) },
    ),
  );
  const uid = process.getuid?.() ?? 0;
  let user = env.USER ?? String(uid);
  try {
    user = userInfo().username;
  } catch {
    /* keep $USER */
  }
  await router.handle({
    subject: { uid, user, via: 'cli', local: true },
    method: 'POST',
    path: '/oci/update',
    body: { id, resources, current: spec, bundle, pidsLimit: cfg.pidsLimit },
  });
  if (file === undefined)
    return { args: [...flagArgs(inv.flags), ...inv.args], cleanup: async () => undefined };
  // runc reads the copy that was judged (stdin is spent; a file could change in between).
  const dir = mkdtempSync(path.join(tmpdir(), 'moat-runtime-update-'));
  const out = path.join(dir, 'resources.json');
  writeFileSync(out, JSON.stringify(resources), { mode: 0o600, flag: 'wx' });
  const flags = new Map(inv.flags);
  flags.set('resources', out);
  return {
    args: [...flagArgs(flags), ...inv.args],
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
