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
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { flagArgs, str, type Invocation } from './argv.js';
import { ociConfig } from './config.js';
import { OciError } from './errors.js';
import { cutProcess, normalizeCap, type Change } from './harden.js';
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

/**
 * oci.json's namespaceCapabilities for the container's pod: its namespace read from the spec moat
 * wrote at create (found through `runc state`), only when any are configured.
 */
function namespaceCaps(inv: Invocation, id: string, perNs: Record<string, string[]>): string[] {
  if (Object.keys(perNs).length === 0) return [];
  const runtime = runtimeBinary(str(inv.global, 'runtime-binary'));
  const { spec } = currentSpec(runtime, flagArgs(inv.global, ['runtime-binary', 'help', 'version']), id);
  const annotations = spec?.annotations;
  const ns = typeof annotations === 'object' && annotations !== null ? podFacts(annotations).namespace : null;
  return ns !== null && Object.hasOwn(perNs, ns) ? perNs[ns] : [];
}

export async function prepareExec(inv: Invocation, log: RuncLog, env = process.env): Promise<PreparedExec> {
  const cfg = ociConfig(env);
  const passThrough = { args: [...flagArgs(inv.flags), ...inv.args], cleanup: async () => undefined };
  if (cfg.mode === 'off') return passThrough;
  const id = inv.args[0];
  const allow = new Set(
    [...cfg.capabilities, ...namespaceCaps(inv, id, cfg.namespaceCapabilities)].map(normalizeCap),
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
  const file = str(inv.flags, 'process');
  if (file !== undefined) {
    const { process: p, changes } = hardenProcess(parseProcess(file), allow);
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
  report(changes);
  if (cfg.mode !== 'enforce') return passThrough;
  const flags = new Map(inv.flags);
  const kept = asked.filter((c) => allow.has(normalizeCap(c)));
  if (kept.length) flags.set('cap', kept);
  else flags.delete('cap');
  flags.set('no-new-privs', true);
  return { args: [...flagArgs(flags), ...inv.args], cleanup: async () => undefined };
}
