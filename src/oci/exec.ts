/**
 * `exec`: a process runc starts in a running container gets the capabilities its process spec
 * (or `--cap`) names, not the container's: runc's exec starts from its own full set in the
 * container's namespaces, so `podman exec --privileged` would hand out every capability however
 * the container was created. In enforce mode moat cuts them to the same allow-list as create and
 * sets no_new_privs (the exec'd process does not inherit the container's); audit lists what it
 * would change; off passes exec through. The policy engine is not loaded: the allow-list is the
 * rule, applied here.
 *
 * With `--process FILE` runc ignores the other process flags, so the file is read (as the spec
 * is: no symlink, regular, bounded, exactly-spelled keys), changed, and written to a private
 * temporary directory that runc reads instead; it is removed when runc returns (runc has read it
 * by then, with --detach too).
 *
 * A pod's container keeps oci.json's namespaceCapabilities for its Kubernetes namespace here too:
 * the namespace is read from moat's copy of its spec (`runc state` names the bundle).
 *
 * Landlock: where that copy (`<bundle>/.moat-runtime/config.json`) records moat's ruleset
 * (`io.moat.landlock`, landlock.ts), the exec'd command runs through moat-init with the same
 * ruleset (runc starts it outside the container's first process, which alone inherits it). A spec
 * that cannot be read gives no prefix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { flagArgs, str, type Invocation } from './argv.js';
import { ociConfig } from './config.js';
import { OciError } from './errors.js';
import { cutProcess, normalizeCap, type Change } from './harden.js';
import { BUNDLE_DIR } from './create.js';
import { execPrefixOf } from './landlock.js';
import { decisionLog, type RuncLog } from './log.js';
import { checkKeys, readBounded, type CallerSpec } from './spec.js';
import { podFacts } from './facts.js';
import { runtimeBinary } from './runc.js';
import { currentSpec } from './update.js';

type Process = NonNullable<CallerSpec['process']>;

export interface PreparedExec {
  /** exec's flags and arguments as runc gets them. */
  args: string[];
  cleanup: () => Promise<void>;
}

/** Cut a process spec's capabilities to the allow-list and set no_new_privs. Pure. */
export function hardenProcess(
  p: Process,
  allow: ReadonlySet<string>,
): { process: Process; changes: Change[] } {
  const out: Process = structuredClone(p);
  const changes: Change[] = [];
  cutProcess(out, allow, changes);
  return { process: out, changes };
}

function parseProcess(file: string): Process {
  const text = readBounded(file, 'OCI_SPEC_INVALID');
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new OciError('OCI_SPEC_INVALID', `${file}: not JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new OciError('OCI_SPEC_INVALID', `${file}: not a JSON object`);
  checkKeys(j, '(process)', 0);
  const p = j as Process;
  if (p.capabilities !== undefined) {
    const c = p.capabilities as unknown;
    if (typeof c !== 'object' || c === null || Array.isArray(c))
      throw new OciError('OCI_SPEC_INVALID', `${file}: capabilities must be an object`);
    for (const [k, v] of Object.entries(c))
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new OciError('OCI_SPEC_INVALID', `${file}: capabilities.${k} must be a list of names`);
  }
  return p;
}

/** The container's spec as runc has it (moat's copy when moat-runtime created it), through `runc state`. */
function containerSpec(
  inv: Invocation,
  id: string | undefined,
): { bundle: string | null; spec: CallerSpec | null } {
  if (!id) return { bundle: null, spec: null };
  const runtime = runtimeBinary(str(inv.global, 'runtime-binary'));
  return currentSpec(runtime, flagArgs(inv.global, ['runtime-binary', 'help', 'version']), id);
}

/**
 * oci.json's namespaceCapabilities for the container's pod: its namespace read from the spec moat
 * wrote at create, only when any are configured.
 */
function namespaceCaps(spec: CallerSpec | null, perNs: Record<string, string[]>): string[] {
  if (Object.keys(perNs).length === 0) return [];
  const annotations = spec?.annotations;
  const ns = typeof annotations === 'object' && annotations !== null ? podFacts(annotations).namespace : null;
  return ns !== null && Object.hasOwn(perNs, ns) ? perNs[ns] : [];
}

/**
 * The prefix that runs an exec'd command under the container's Landlock ruleset ([]: none, or a
 * spec that is not moat's copy).
 */
export function landlockPrefix(c: { bundle: string | null; spec: CallerSpec | null }): string[] {
  if (c.bundle === null || path.basename(c.bundle) !== BUNDLE_DIR) return [];
  const a = c.spec?.annotations as unknown;
  return typeof a === 'object' && a !== null && !Array.isArray(a)
    ? execPrefixOf(a as Record<string, string>)
    : [];
}

export async function prepareExec(inv: Invocation, log: RuncLog, env = process.env): Promise<PreparedExec> {
  const cfg = ociConfig(env);
  const passThrough = { args: [...flagArgs(inv.flags), ...inv.args], cleanup: async () => undefined };
  if (cfg.mode === 'off') return passThrough;
  const id = inv.args[0];
  const current = containerSpec(inv, id);
  const allow = new Set(
    [...cfg.capabilities, ...namespaceCaps(current.spec, cfg.namespaceCapabilities)].map(normalizeCap),
  );
  const report = (changes: Change[]) => {
    for (const c of changes)
      decisionLog(
        log,
        env,
        'info',
        `moat: exec ${cfg.mode === 'enforce' ? 'hardened' : 'audit: would harden'} ${c.field}: ${c.change}`,
        { id },
      );
  };
  const prefix = landlockPrefix(current);
  const landlockChange = (field: string): Change[] =>
    prefix.length ? [{ field, change: `run under the container's Landlock ruleset by ${prefix[0]}` }] : [];
  const file = str(inv.flags, 'process');
  if (file !== undefined) {
    const { process: p, changes } = hardenProcess(parseProcess(file), allow);
    if (prefix.length && Array.isArray(p.args) && p.args.length) {
      p.args = [...prefix, ...p.args];
      changes.push(...landlockChange('process.args'));
    }
    report(changes);
    if (cfg.mode !== 'enforce') return passThrough;
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-runtime-exec-'));
    const out = path.join(dir, 'process.json');
    writeFileSync(out, JSON.stringify(p), { mode: 0o600, flag: 'wx' });
    const flags = new Map(inv.flags);
    flags.set('process', out);
    return {
      args: [...flagArgs(flags), ...inv.args],
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  // The process from flags: --cap adds to every set.
  const caps = inv.flags.get('cap');
  const asked = Array.isArray(caps) ? caps : [];
  const dropped = asked.filter((c) => !allow.has(normalizeCap(c)));
  const changes: Change[] = [];
  if (dropped.length) changes.push({ field: '--cap', change: `dropped ${dropped.join(', ')}` });
  if (inv.flags.get('no-new-privs') !== true) changes.push({ field: '--no-new-privs', change: 'set' });
  const withPrefix = prefix.length && inv.args.length > 1;
  if (withPrefix) changes.push(...landlockChange('args'));
  report(changes);
  if (cfg.mode !== 'enforce') return passThrough;
  const flags = new Map(inv.flags);
  const kept = asked.filter((c) => allow.has(normalizeCap(c)));
  if (kept.length) flags.set('cap', kept);
  else flags.delete('cap');
  flags.set('no-new-privs', true);
  const args = withPrefix ? [inv.args[0], ...prefix, ...inv.args.slice(1)] : inv.args;
  return { args: [...flagArgs(flags), ...args], cleanup: async () => undefined };
}
