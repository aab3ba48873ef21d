/**
 * What `moat check` does (see check.ts for the command and its exit statuses): loaded only when
 * the command runs, so every other command starts without it.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DecisionHook, DecisionInput, Router } from '../api/router.js';
import { errorInfo } from '../error-table.js';
import type { ScanReport, ScanSummary } from '../scan/report/types.js';
import type { SignatureFacts } from '../trust/facts.js';
import { subject } from './app.js';
import { UsageError } from './errors.js';

export interface CheckResult {
  reference: string;
  image?: { id: string; digest: string };
  admitted: boolean;
  /** The exit status, and the code it stands for (none when admitted). */
  exit: number;
  code?: string;
  trust?: { accepted: boolean; verified: boolean; error?: { code: string; message: string } | null };
  policy?: { allow: boolean; reasons: string[]; policy: string };
  scan?: ScanSummary & { notes: string[] };
  /** Every reason, in order: trust, then the policy's. */
  reasons: string[];
}

function cacheHome(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  return xdg ?? path.join(env.HOME || homedir(), '.cache');
}

/** An OCI layout directory as a tar (what `moat load` reads), regular files and directories only. */
async function tarLayout(dir: string, out: string): Promise<void> {
  const { pack } = await import('tar-stream');
  const p = pack();
  const done = pipeline(p, createWriteStream(out, { mode: 0o600 }));
  const walk = async (rel: string): Promise<void> => {
    const ents = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of ents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        p.entry({ name: `${r}/`, type: 'directory', mode: 0o755 });
        await walk(r);
      } else if (e.isFile()) {
        const data = await fsp.readFile(path.join(dir, r));
        await new Promise<void>((res, rej) =>
          p.entry({ name: r, size: data.length, mode: 0o644 }, data, (err) => (err ? rej(err) : res())),
        );
      }
    }
  };
  await walk('');
  p.finalize();
  await done;
}

async function isLocal(ref: string): Promise<'dir' | 'file' | undefined> {
  const st = await fsp.stat(ref).catch(() => undefined);
  return st?.isDirectory() ? 'dir' : st?.isFile() ? 'file' : undefined;
}

/** Pull or load `ref` through the router; the stored image's reference (a name, else its ID). */
async function acquire(router: Router, ref: string, tmp: string, tlsVerify?: boolean): Promise<string> {
  const sub = subject();
  const kind = await isLocal(ref);
  if (!kind) {
    const r = (await router.handle({
      subject: sub,
      method: 'POST',
      path: '/images/pull',
      body: { reference: ref, unpack: false, ...(tlsVerify !== undefined ? { tlsVerify } : {}) },
    })) as { name?: string; id: string };
    return r.name ?? r.id;
  }
  let file = path.resolve(ref);
  if (kind === 'dir') {
    file = path.join(tmp, `${path.basename(file) || 'layout'}.tar`);
    await tarLayout(path.resolve(ref), file);
  }
  const r = (await router.handle({ subject: sub, method: 'POST', path: '/images/load', body: { file } })) as {
    loaded: { id: string; names: string[] }[];
  };
  if (r.loaded.length !== 1)
    throw new UsageError(`${ref} holds ${r.loaded.length} images: moat check judges one at a time`);
  return r.loaded[0].names[0] ?? r.loaded[0].id;
}

const NO_DB_REASON = /^no vulnerability database\b/;

/** The gate's verdict from the trust facts and the decision (see the exit statuses above). */
export function verdict(
  sig: SignatureFacts | undefined,
  decision: { allow: boolean; reasons: string[] },
): { exit: number; code?: string } {
  if (!sig?.accepted) {
    const code = sig?.error?.code ?? 'TRUST_REJECTED';
    return { exit: errorInfo(code).exit, code };
  }
  if (decision.allow) return { exit: 0 };
  if (decision.reasons.length > 0 && decision.reasons.every((r) => NO_DB_REASON.test(r)))
    return { exit: errorInfo('SCAN_NO_DATABASE').exit, code: 'SCAN_NO_DATABASE' };
  return { exit: errorInfo('POLICY_DENIED').exit, code: 'POLICY_DENIED' };
}

export async function runCheck(
  ref: string,
  f: { db?: string; vex?: string[]; policy?: string; tlsVerify?: boolean },
): Promise<{ result: CheckResult; report?: ScanReport }> {
  // The database and VEX documents in force for this process: the run's facts read the record
  // made under them (scan-facts.ts), as a `moat run` with the same setting would.
  if (f.db) process.env.MOAT_VULN_DB = path.resolve(f.db);
  if (f.vex?.length) process.env.MOAT_VEX = f.vex.map((v) => path.resolve(v)).join(':');
  const root = path.join(cacheHome(process.env), 'moat');
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  const tmp = await fsp.mkdtemp(path.join(root, 'check-'));
  try {
    const [{ openEngine }, { createRouter }, { regoHook, policyPaths }, { defaultRunOptions }] =
      await Promise.all([
        import('../runtime/context.js'),
        import('../api/all-routes.js'),
        import('../api/policy-hook.js'),
        import('../runtime/options.js'),
      ]);
    const engine = openEngine({ ...process.env, XDG_DATA_HOME: path.join(tmp, 'data') });
    const hook: DecisionHook = regoHook(f.policy ? [path.resolve(f.policy)] : policyPaths());
    const router = createRouter(engine, hook);
    let reference: string;
    try {
      reference = await acquire(router, ref, tmp, f.tlsVerify);
    } catch (e) {
      const code = (e as { code?: string }).code;
      // A pull the trust policy refuses is the gate's answer, not an error.
      if (typeof code === 'string' && code.startsWith('TRUST_')) {
        const message = (e as Error).message;
        return {
          result: {
            reference: ref,
            admitted: false,
            exit: errorInfo(code).exit,
            code,
            trust: { accepted: false, verified: false, error: { code, message } },
            reasons: [`trust: ${message}`],
          },
        };
      }
      throw e;
    }
    const rec = await engine.deps.images.resolve(reference);
    const report = (await router.handle({
      subject: subject(),
      method: 'POST',
      path: `/images/${encodeURIComponent(rec.id)}/scan`,
      body: {},
    })) as ScanReport;
    report.image.reference = reference;
    // What `moat run REF` would be asked: the run route's facts (plan, pull and scan on missing),
    // then the decision. The handler is not called.
    const route = router.routes().find((r) => r.action === 'container.run');
    if (!route?.facts) throw new Error('no container.run route');
    const body = { options: defaultRunOptions(reference) };
    const req = { subject: subject(), method: 'POST' as const, path: '/containers/run', body };
    const ctx = { req, body, params: {}, facts: {} };
    const facts = await (route.facts as (c: typeof ctx) => Promise<Record<string, unknown>>)(ctx);
    const input: DecisionInput = { ...req, action: 'container.run', params: {}, facts };
    const decision = await hook(input);
    const image = facts.image as { signature?: SignatureFacts; scan?: ScanSummary } | undefined;
    const sig = image?.signature;
    const v = verdict(sig, decision);
    const summary = image?.scan;
    return {
      report,
      result: {
        reference,
        image: { id: rec.id, digest: rec.manifestDigest },
        admitted: v.exit === 0,
        exit: v.exit,
        ...(v.code ? { code: v.code } : {}),
        trust: {
          accepted: Boolean(sig?.accepted),
          verified: Boolean(sig?.verified),
          error: sig?.error ?? null,
        },
        policy: decision,
        ...(summary ? { scan: { ...summary, notes: report.notes } } : {}),
        reasons: [
          ...(sig && !sig.accepted ? [`trust: ${sig.error?.message ?? 'rejected'}`] : []),
          ...decision.reasons.map((r) => `policy: ${r}`),
        ],
      },
    };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

export function text(r: CheckResult): string {
  const s = r.scan;
  const lines = [
    `image:    ${r.reference}${r.image ? ` (${r.image.digest})` : ''}`,
    `trust:    ${r.trust?.accepted ? `accepted${r.trust.verified ? ' (verified)' : ''}` : `REJECTED${r.trust?.error ? ` (${r.trust.error.code}: ${r.trust.error.message})` : ''}`}`,
  ];
  if (s)
    lines.push(
      `scan:     ${s.critical} critical, ${s.high} high, ${s.medium} medium, ${s.low} low (${s.fixable} fixable); ${s.secrets} secret(s), ${s.hazards} hazard(s), ${s.permissions} permission, ${s.config} config finding(s); ${s.packages} package(s)`,
      `database: ${s.db ? `${s.db.version.slice(0, 19)}… (${s.db.age_days ?? '?'} days old)` : 'NONE: vulnerabilities were not checked'}`,
      ...s.notes.map((n) => `note:     ${n}`),
    );
  if (r.policy)
    lines.push(`policy:   ${r.policy.allow ? 'allows' : 'DENIES'} container.run (${r.policy.policy})`);
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  lines.push(`verdict:  ${r.admitted ? 'ADMITTED' : `NOT ADMITTED (${r.code ?? 'error'}, exit ${r.exit})`}`);
  return lines.join('\n') + '\n';
}
