/**
 * `create` and `run`: read the caller's bundle, ask moat's policy (the `oci.create` route on
 * moat's router, decided by the same Rego policy as every moat request), write the spec runc is
 * to run, and hand it to runc.
 *
 * Where the spec runc reads lives: `<bundle>/.moat-runtime/config.json`, and runc is given that
 * directory as its bundle. The caller's config.json is never modified: podman, conmon and
 * containerd's shim keep their own copy as they wrote it (none of them reads it back from runc:
 * they read `runc state` and the pid file), and runc, not they, is the one that must see the
 * hardened spec. Inside the caller's bundle so it is removed with it (podman removes the
 * container's userdata, containerd the task's bundle) and a second create of the same bundle
 * (podman start) replaces it. runc chdirs into the bundle it is given and reads relative paths
 * from there, so root.path and relative bind sources are made absolute against the caller's
 * bundle. The spec is written from what moat parsed, so runc reads exactly what the policy saw
 * (no duplicate keys, no second copy of a field). Written to a temporary name and renamed: a
 * failure leaves no half-written config.json, and the directory is removed when anything fails.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { userInfo } from 'node:os';
import type { OciCreateResult } from './routes.js';
import { ociConfig } from './config.js';
import { readBundleSpec, type CallerSpec } from './spec.js';
import { decisionLog, type RuncLog } from './log.js';
import { mark } from '../util/timing.js';

export const BUNDLE_DIR = '.moat-runtime';

function subject() {
  const uid = process.getuid?.() ?? 0;
  let user = process.env.USER ?? String(uid);
  try {
    user = userInfo().username;
  } catch {
    /* keep $USER */
  }
  // The caller (podman, containerd, CRI-O) runs on this host and starts moat-runtime itself.
  return { uid, user, via: 'cli' as const, local: true };
}

/** Ask the policy; throws ApiError POLICY_DENIED (or POLICY_ERROR: fail closed). */
export async function decide(
  id: string,
  bundle: string,
  spec: CallerSpec,
  log: RuncLog,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OciCreateResult> {
  const cfg = ociConfig(env);
  const body = {
    id,
    bundle,
    spec,
    mode: cfg.mode,
    capabilities: cfg.capabilities,
    namespaceCapabilities: cfg.namespaceCapabilities,
    pidsLimit: cfg.pidsLimit,
  };
  let r: OciCreateResult;
  if (cfg.service) {
    const { askService } = await import('./service.js');
    r = await askService(cfg.service, body);
    decisionLog(log, env, 'info', 'moat: oci.create allowed', { id, service: cfg.service });
  } else {
    const [{ Router }, { regoHook, policyPaths }, { ociRoutes }] = await Promise.all([
      import('../api/router.js'),
      import('../api/policy-hook.js'),
      import('./routes.js'),
    ]);
    mark('oci: policy modules loaded');
    const router = new Router(ociRoutes(), regoHook(policyPaths(env)), (e) =>
      decisionLog(
        log,
        env,
        e.decision.allow ? 'info' : 'error',
        `moat: ${e.input.action} ${e.decision.allow ? 'allowed' : 'denied'}`,
        {
          id,
          policy: e.decision.policy,
          reasons: e.decision.reasons,
          ms: Number(e.ms.toFixed(3)),
        },
      ),
    );
    r = (await router.handle({
      subject: subject(),
      method: 'POST',
      path: '/oci/create',
      body,
    })) as OciCreateResult;
  }
  for (const c of r.changes)
    decisionLog(
      log,
      env,
      'info',
      `moat: ${r.applied ? 'hardened' : `${r.mode}: would harden`} ${c.field}: ${c.change}`,
      { id },
    );
  return r;
}

/** The spec as runc reads it from moat's directory: paths relative to the caller's bundle made absolute. */
export function relocate(spec: CallerSpec, bundle: string): CallerSpec {
  const out = { ...spec, root: { ...spec.root, path: path.resolve(bundle, spec.root.path) } };
  if (spec.mounts)
    out.mounts = spec.mounts.map((m) =>
      m.source !== undefined &&
      !path.isAbsolute(m.source) &&
      (m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind'))
        ? { ...m, source: path.resolve(bundle, m.source) }
        : m,
    );
  return out;
}

/** Write the spec runc runs; returns the directory to give runc as its bundle. */
export async function writeBundle(bundle: string, spec: CallerSpec): Promise<string> {
  const dir = path.join(bundle, BUNDLE_DIR);
  // A previous create's directory (podman start creates again), or anything put in its place: a
  // symlink is removed, not followed.
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { mode: 0o700 });
  try {
    const tmp = path.join(dir, 'config.json.tmp');
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(relocate(spec, bundle)));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path.join(dir, 'config.json'));
    return dir;
  } catch (e) {
    await removeBundle(dir);
    throw e;
  }
}

export async function removeBundle(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

export interface PreparedCreate {
  dir: string;
  result: OciCreateResult;
}

/** Read, decide, write: everything before runc. */
export async function prepareCreate(id: string, bundleArg: string, log: RuncLog): Promise<PreparedCreate> {
  const { bundle, spec } = readBundleSpec(bundleArg);
  mark('oci: spec read');
  const result = await decide(id, bundle, spec, log);
  mark('oci: decided and hardened');
  const dir = await writeBundle(bundle, result.spec);
  mark('oci: bundle written');
  return { dir, result };
}
