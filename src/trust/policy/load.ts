/**
 * Where the trust policy comes from, first found wins: `--trust FILE` (or `$MOAT_TRUST`), then
 * `$XDG_CONFIG_HOME/moat/policy.json` (`~/.config/moat/policy.json`), then
 * `/etc/containers/policy.json` (a host set up for podman protects moat too), then the built-in
 * default, which accepts anything (and says so on run and pull).
 *
 * The policy's digest covers the file and the bytes of every key, CA and trusted root it names,
 * so editing any of them invalidates the verifications recorded under the old digest.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, constants as fsc } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { TrustError } from '../errors.js';
import { MAX_POLICY_BYTES, parsePolicy } from './parse.js';
import type { KeySource, TrustPolicy } from './types.js';

export const SYSTEM_POLICY = '/etc/containers/policy.json';
export const BUILTIN = 'builtin';
const BUILTIN_TEXT = '{"default":[{"type":"insecureAcceptAnything"}]}';

/** Reads a regular file of at most `max` bytes (no FIFOs or devices, no unbounded reads). */
export function readBounded(file: string, max: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    if (st.size > max) throw new Error(`${file} is larger than ${max} bytes`);
    const buf = Buffer.alloc(Math.min(st.size + 1, max + 1));
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > max) throw new Error(`${file} is larger than ${max} bytes`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function userPolicyPath(env: NodeJS.ProcessEnv = process.env): string {
  const config =
    env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : join(env.HOME || homedir(), '.config');
  return join(config, 'moat', 'policy.json');
}

/** The files a policy names (keys, CAs, trusted roots), for its digest. */
function namedFiles(p: TrustPolicy): string[] {
  const files: string[] = [];
  const add = (k: KeySource | undefined) => {
    if (k && 'path' in k && k.path) files.push(k.path);
  };
  for (const reqs of [p.default, ...Object.values(p.transports).flatMap((s) => Object.values(s))])
    for (const r of reqs) {
      if (r.type !== 'sigstoreSigned') continue;
      r.keys.forEach(add);
      r.rekorKeys.forEach(add);
      add(r.fulcio?.ca);
      if (r.trustedRoot) files.push(r.trustedRoot);
    }
  return [...new Set(files)].sort();
}

function fromText(text: string, file: string): TrustPolicy {
  const first = parsePolicy(text, file);
  const h = createHash('sha256').update(text);
  for (const f of namedFiles(first)) {
    h.update(`\0${f}\0`);
    try {
      const b = readBounded(f, MAX_POLICY_BYTES);
      h.update(b ?? 'missing');
    } catch {
      h.update('unreadable'); // reported when a verification needs it
    }
  }
  return { ...first, digest: `sha256:${h.digest('hex')}` };
}

export interface LoadTrustOptions {
  /** `--trust FILE`. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** The system-wide file (tests). */
  systemPath?: string;
}

/** The trust policy in force, read and checked. */
export function loadTrustPolicy(opts: LoadTrustOptions = {}): TrustPolicy {
  const env = opts.env ?? process.env;
  const explicit = opts.file ?? (env.MOAT_TRUST || undefined);
  const candidates = explicit ? [explicit] : [userPolicyPath(env), opts.systemPath ?? SYSTEM_POLICY];
  for (const file of candidates) {
    let bytes: Buffer | undefined;
    try {
      bytes = readBounded(file, MAX_POLICY_BYTES);
    } catch (e) {
      throw new TrustError('TRUST_POLICY_INVALID', `trust policy ${file}: ${(e as Error).message}`, {
        details: { file },
      });
    }
    if (bytes === undefined) {
      if (explicit)
        throw new TrustError('TRUST_POLICY_INVALID', `trust policy ${file}: no such file`, {
          details: { file },
          hint: 'give an existing containers-policy.json file to --trust',
        });
      continue;
    }
    return fromText(bytes.toString('utf8'), file);
  }
  return fromText(BUILTIN_TEXT, BUILTIN);
}

/** True when the policy accepts every image without looking (the built-in default, or a file saying so). */
export function acceptsAnything(p: TrustPolicy): boolean {
  const all = [p.default, ...Object.values(p.transports.docker ?? {})];
  return all.every((reqs) => reqs.length > 0 && reqs.every((r) => r.type === 'insecureAcceptAnything'));
}
