/**
 * The decision hook backed by Rego: `data.moat.authz.decision` → `{allow, deny: [reasons]}`.
 * Policies come from `$MOAT_POLICY` (paths separated by ':'), else `$XDG_CONFIG_HOME/moat/policy`
 * when it exists, else the default policies shipped in `policies/` (test files are not loaded).
 * The engine is loaded and the policy compiled on the first request, once per process.
 * Anything but a well-formed decision denies (fail closed).
 */
import { existsSync } from 'node:fs';
import { homedir, release } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerPlan } from '../runtime/engine.js';
import { landlockOfSpec } from '../runtime/spec/index.js';
import { LIMIT_DEFAULTS, tmpfsMountFacts } from '../runtime/default-limits.js';
import { compareSeccomp, defaultProfile, resolveSeccomp, type LinuxSeccomp } from '../seccomp/index.js';
import { processFacts } from './process-facts.js';
import { loadPolicy } from '../policy/decide.js';

export { landlockOfSpec };
import { canonicalPath } from './host-facts.js';
import type { Decision, DecisionHook, DecisionInput } from './router.js';

export const DECISION_QUERY = 'data.moat.authz.decision';

export function policyPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.MOAT_POLICY) return env.MOAT_POLICY.split(':').filter(Boolean);
  const config =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(env.HOME || homedir(), '.config');
  const user = path.join(config, 'moat', 'policy');
  if (existsSync(user)) return [user];
  // dist/api/ or dist/bundle/ → the package root's policies/
  return [fileURLToPath(new URL('../../policies/', import.meta.url))];
}

/**
 * What a run summary is made of: a plan about to be committed (run, create), or an existing
 * container's recorded options and stored spec (start, exec; see container-facts.ts).
 */
export type RunFactsSource = Pick<ContainerPlan, 'opts' | 'spec' | 'limits' | 'seccompDigest'> &
  Partial<Pick<ContainerPlan, 'sources' | 'seccompFile' | 'network'>>;

/**
 * The seccomp filter about to be applied, summarised for the policy: which profile (moat's
 * default, or a custom file: its canonical path and the sha256 of the bytes moat read), its
 * default action and size, and whether it lets through anything the default profile blocks for
 * the same capabilities (src/seccomp/summary.ts).
 */
export function seccompFacts(plan: RunFactsSource): Record<string, unknown> {
  const sc = (plan.spec.linux?.seccomp ?? null) as LinuxSeccomp | null;
  const file = plan.opts.seccompProfile;
  // A learning run lets every call through (and records it): looser than anything, and said so.
  if (plan.opts.seccompLearn !== undefined)
    return {
      profile: 'learning',
      default_action: sc?.defaultAction ?? 'SCMP_ACT_ALLOW',
      rule_count: sc?.syscalls?.length ?? 0,
      looser_than_default: true,
      loosened: ['every call (a learning run records them)'],
      learn_file: plan.opts.seccompLearn,
    };
  if (!file && sc) {
    return {
      profile: 'default',
      default_action: sc.defaultAction,
      rule_count: sc.syscalls?.length ?? 0,
      looser_than_default: false,
      loosened: [],
    };
  }
  // The plan's resolution of the path: the file actually read (one resolution, not two).
  const canonical = file ? (plan.seccompFile?.path ?? canonicalPath(file)) : undefined;
  // A remote subject's profile is read only after an allow: the policy knows its path alone
  // (the default policy takes a summary that does not say as looser).
  if (file && plan.seccompFile?.read === false)
    return { profile: 'custom', file: canonical, raw_file: file, read: false };
  const reference = resolveSeccomp(defaultProfile(), {
    capabilities: plan.opts.capAdd,
    arch: process.arch,
    kernelVersion: release(),
  });
  const c = compareSeccomp(sc, reference);
  return {
    profile: sc ? 'custom' : 'unconfined',
    ...(file ? { file: canonical, raw_file: file } : {}),
    ...(plan.seccompDigest ? { digest: plan.seccompDigest } : {}),
    default_action: c.defaultAction,
    rule_count: c.ruleCount,
    looser_than_default: c.looserThanDefault,
    loosened: c.loosened,
    loosened_count: c.loosenedCount,
  };
}

/**
 * What the policy sees about a run: the user's choices in plain terms, beside the full OCI spec.
 * Mount sources are canonical (`source`: realpath, so `//etc`, `/tmp/../proc` and a symlink to
 * /proc are what they are), with the text the client sent beside them (`raw_source`: a bind's
 * path, a volume's name); `type` is `bind` or `volume`.
 */
export function runSummary(plan: RunFactsSource): Record<string, unknown> {
  const o = plan.opts;
  return {
    image: o.image,
    user: String(plan.spec.process.user.uid),
    uid: plan.spec.process.user.uid,
    gid: plan.spec.process.user.gid,
    cap_add: o.capAdd.map((c) => c.replace(/^CAP_/, '')),
    privileged: false,
    network_mode: o.network ?? 'none',
    // Its outbound link reaches the host's 127.0.0.1 (a network made with allow_host_loopback).
    network_host_loopback: plan.network?.hostLoopback ?? false,
    network_aliases: o.networkAliases ?? [],
    ports: (o.ports ?? []).map((p) => ({
      host_ip: p.hostIp,
      host_port: p.hostPort,
      container_port: p.containerPort,
      protocol: p.protocol,
    })),
    dns: o.dns ?? [],
    read_only_rootfs: !o.readWrite,
    // A volume's source is its directory under moat's data directory, made by moat from its name.
    mounts: o.volumes.map((v, i) => ({
      type: v.volume === undefined ? 'bind' : 'volume',
      source: plan.sources?.[i] ?? canonicalPath(v.host),
      raw_source: v.volume === undefined ? v.host : v.volume,
      destination: v.container,
      readonly: v.readonly,
      ...(v.volume === undefined ? {} : { name: v.volume, anonymous: Boolean(v.anonymous) }),
    })),
    tmpfs: o.tmpfs.map((t) => t.path),
    // The other options a run may set, as applied (older records lack some: their defaults).
    tmpfs_mounts: tmpfsMountFacts(o.tmpfs),
    ulimits: o.ulimits.map((u) => ({ name: u.name, soft: u.soft, hard: u.hard })),
    sysctls: { ...(plan.spec.linux?.sysctl ?? {}) },
    group_add: o.groupAdd ?? [],
    shm_size: o.shmSize ?? LIMIT_DEFAULTS.shmSize,
    oom_score_adj: o.oomScoreAdj ?? 0,
    limits: plan.limits,
    seccomp: seccompFacts(plan),
    // The AppArmor profile runc applies (moat-default where loaded and none named), "unconfined"
    // when the run asked for none, null when there is none.
    apparmor_profile:
      plan.spec.process.apparmorProfile ?? (o.apparmorProfile === 'unconfined' ? 'unconfined' : null),
    landlock: landlockOfSpec(plan.spec.annotations, o.landlock),
    init: o.init,
  };
}

/** The input document: the request, and the facts with the plan reduced to plain JSON. */
export function decisionInput(input: DecisionInput): Record<string, unknown> {
  const { plan, ...facts } = input.facts as { plan?: ContainerPlan } & Record<string, unknown>;
  return {
    // The CLI in-process and the unix socket (0600, its owner only) are local; a network
    // transport would set `local: false`.
    subject: { ...input.subject, local: input.subject.local ?? input.subject.via === 'cli' },
    method: input.method,
    path: input.path,
    action: input.action,
    params: input.params,
    body: input.body,
    facts: plan ? { ...facts, run: runSummary(plan), process: processFacts(plan.spec) } : facts,
  };
}

/** A policy compiled by `opa build -t wasm`: a bundle (`.tar.gz`, `.tgz`) or a bare `.wasm`. */
export function isWasmPolicy(p: string): boolean {
  return /\.(wasm|tar\.gz|tgz)$/.test(p);
}

/** `data.moat.authz.decision` → `moat/authz/decision`, the entrypoint `opa build -e` names. */
export function entrypointOf(query: string): string {
  return query
    .replace(/^data\./, '')
    .split('.')
    .join('/');
}

async function loadDecide(paths: string[]): Promise<(input: unknown) => unknown> {
  const wasm = paths.filter(isWasmPolicy);
  if (wasm.length) {
    // Teams that compile with `opa build -t wasm -e moat/authz/decision` ship that artefact.
    if (wasm.length > 1 || paths.length > 1) {
      throw new Error('a wasm policy bundle must be the only policy path');
    }
    const { WasmPolicy } = await import('../policy/wasm.js');
    const policy = await WasmPolicy.fromFile(wasm[0]);
    const entrypoint = entrypointOf(DECISION_QUERY);
    return (input: unknown) => policy.evaluate(input, entrypoint)[0]?.expressions[0]?.value;
  }
  // The compiled policy is cached on disk (keyed by the sources): most commands skip parsing.
  // decide.js is imported statically: every process that loads this hook makes a decision, and
  // a dynamic import of it cost one more round of Node's loader before the first one.
  const policy = await loadPolicy(paths, { query: DECISION_QUERY });
  return (input: unknown) => policy.decide(input);
}

export function regoHook(paths: string[] = policyPaths()): DecisionHook {
  // Loaded once per process, on the first request.
  let loaded: Promise<(input: unknown) => unknown> | undefined;
  return async (input: DecisionInput): Promise<Decision> => {
    loaded ??= loadDecide(paths);
    const decide = await loaded;
    // Round-trip through JSON, as a policy served over HTTP would see it (no undefined values).
    const value = decide(JSON.parse(JSON.stringify(decisionInput(input)))) as
      { allow?: unknown; deny?: unknown } | undefined;
    const policy = `rego:${DECISION_QUERY}`;
    if (!value || typeof value !== 'object')
      return { allow: false, reasons: ['the policy returned no decision'], policy };
    const reasons = Array.isArray(value.deny) ? value.deny.map(String) : [];
    return { allow: value.allow === true, reasons, policy };
  };
}
