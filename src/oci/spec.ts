/**
 * The caller's spec: read from its bundle without trusting it, and checked for the shape moat
 * judges. The bundle and config.json are the caller's (podman, containerd, CRI-O, or whoever can
 * run moat-runtime), so:
 * - config.json is opened without following a symlink (O_NOFOLLOW: a link to a file outside the
 *   bundle is refused, never read), must be a regular file (O_NONBLOCK: a FIFO cannot hang us)
 *   and at most 4 MiB;
 * - the sections moat judges must have the types runc reads (a `capabilities` that is a string
 *   would be judged as none), and nesting is bounded;
 * - keys must be spelled exactly: runc reads config.json with Go's encoding/json, which matches
 *   struct fields case-insensitively (with Unicode folding: "ſ" is "s"), so `"Process"` or
 *   `"proceſs"` beside `"process"` would reach runc as process while the policy saw another
 *   object. Any key that folds to a spec field name but is not that name is refused. Duplicate
 *   keys need no check: runc reads the copy moat writes from what it parsed (create.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { OciError } from './errors.js';

export const MAX_SPEC_BYTES = 4 << 20;
const MAX_DEPTH = 64;

/** The parts of an OCI spec moat reads; everything else is carried through untouched. */
export interface CallerSpec {
  ociVersion?: string;
  process?: {
    args?: string[];
    user?: { uid?: number; gid?: number };
    capabilities?: Partial<Record<CapSet, string[]>>;
    noNewPrivileges?: boolean;
    [k: string]: unknown;
  };
  root: { path: string; readonly?: boolean };
  mounts?: { destination: string; type?: string; source?: string; options?: string[] }[];
  annotations?: Record<string, string>;
  linux?: {
    namespaces?: { type: string; path?: string }[];
    seccomp?: Record<string, unknown>;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    resources?: { pids?: { limit?: number }; [k: string]: unknown };
    cgroupsPath?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;
export type CapSet = (typeof CAP_SETS)[number];

/** Field names of the runtime spec (v1.0–1.1) as JSON spells them. */
const SPEC_FIELDS =
  `ociVersion process root hostname domainname mounts hooks annotations linux solaris windows vm zos
terminal consoleSize user args commandLine env cwd capabilities rlimits noNewPrivileges apparmorProfile
oomScoreAdj selinuxLabel ioPriority scheduler height width uid gid umask additionalGids username
bounding effective inheritable permitted ambient type hard soft path readonly destination source options
uidMappings gidMappings prestart createRuntime createContainer startContainer poststart poststop timeout
sysctl resources cgroupsPath namespaces devices seccomp rootfsPropagation maskedPaths readonlyPaths
mountLabel intelRdt personality timeOffsets containerID hostID size allow major minor access memory cpu
pids blockIO hugepageLimits network rdma unified limit reservation swap kernel kernelTCP swappiness
disableOOMKiller useHierarchy checkBeforeUpdate shares quota period realtimeRuntime realtimePeriod cpus
mems idle weight leafWeight weightDevice throttleReadBpsDevice throttleWriteBpsDevice
throttleReadIOPSDevice throttleWriteIOPSDevice rate pageSize classID priorities name priority fileMode
defaultAction defaultErrnoRet architectures flags listenerPath listenerMetadata syscalls names action
errnoRet index value valueTwo op closID l3CacheSchema memBwSchema enableCMT enableMBM domain class
policy nice deadline runtime`.split(/\s+/);

const fold = (k: string) => k.toUpperCase().toLowerCase();
const FIELD_BY_FOLD = new Map(SPEC_FIELDS.map((f) => [fold(f), f]));
/** Maps whose keys are data, not field names. */
const FREE_MAPS = new Set(['annotations', 'sysctl', 'unified', 'rdma', 'timeOffsets']);

function bad(msg: string): never {
  throw new OciError('OCI_SPEC_INVALID', `config.json: ${msg}`);
}

export function checkKeys(v: unknown, at: string, depth: number): void {
  if (depth > MAX_DEPTH) bad(`nested deeper than ${MAX_DEPTH} levels at ${at}`);
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkKeys(x, `${at}[${i}]`, depth + 1));
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  for (const [k, x] of Object.entries(v)) {
    const known = FIELD_BY_FOLD.get(fold(k));
    if (known !== undefined && known !== k)
      bad(
        `key ${JSON.stringify(k)} at ${at} is not spelled ${JSON.stringify(known)} (runc would read it as ${known})`,
      );
    if (!FREE_MAPS.has(k)) checkKeys(x, `${at}.${k}`, depth + 1);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Check what moat reads of a parsed spec; returns it typed. */
export function checkSpec(j: unknown): CallerSpec {
  if (!isObj(j)) bad('not a JSON object');
  checkKeys(j, '(spec)', 0);
  if (!isObj(j.root) || typeof j.root.path !== 'string' || !j.root.path) bad('root.path must be a path');
  if (j.process !== undefined) {
    const p = j.process;
    if (!isObj(p)) bad('process must be an object');
    if (p.capabilities !== undefined) {
      if (!isObj(p.capabilities)) bad('process.capabilities must be an object');
      for (const [k, v] of Object.entries(p.capabilities))
        if (!isStrings(v)) bad(`process.capabilities.${k} must be a list of names`);
    }
    if (p.noNewPrivileges !== undefined && typeof p.noNewPrivileges !== 'boolean')
      bad('process.noNewPrivileges must be a boolean');
  }
  if (j.mounts !== undefined) {
    if (!Array.isArray(j.mounts)) bad('mounts must be a list');
    j.mounts.forEach((m: unknown, i) => {
      if (!isObj(m) || typeof m.destination !== 'string') bad(`mounts[${i}].destination must be a path`);
      for (const f of ['type', 'source'])
        if (m[f] !== undefined && typeof m[f] !== 'string') bad(`mounts[${i}].${f} must be a string`);
      if (m.options !== undefined && !isStrings(m.options)) bad(`mounts[${i}].options must be a list`);
    });
  }
  if (j.annotations !== undefined) {
    if (!isObj(j.annotations) || !Object.values(j.annotations).every((v) => typeof v === 'string'))
      bad('annotations must map names to strings');
  }
  if (j.linux !== undefined) {
    const l = j.linux;
    if (!isObj(l)) bad('linux must be an object');
    if (l.namespaces !== undefined) {
      if (!Array.isArray(l.namespaces)) bad('linux.namespaces must be a list');
      l.namespaces.forEach((n: unknown, i) => {
        if (!isObj(n) || typeof n.type !== 'string') bad(`linux.namespaces[${i}].type must be a string`);
        if (n.path !== undefined && typeof n.path !== 'string')
          bad(`linux.namespaces[${i}].path must be a string`);
      });
    }
    if (l.seccomp !== undefined && l.seccomp !== null) checkSeccomp(l.seccomp);
    for (const f of ['maskedPaths', 'readonlyPaths'])
      if (l[f] !== undefined && !isStrings(l[f])) bad(`linux.${f} must be a list of paths`);
    if (l.resources !== undefined) {
      if (!isObj(l.resources)) bad('linux.resources must be an object');
      const pids = l.resources.pids;
      if (
        pids !== undefined &&
        (!isObj(pids) || (pids.limit !== undefined && typeof pids.limit !== 'number'))
      )
        bad('linux.resources.pids.limit must be a number');
    }
    if (l.cgroupsPath !== undefined && typeof l.cgroupsPath !== 'string')
      bad('linux.cgroupsPath must be a string');
  }
  return j as CallerSpec;
}

/** The filter's shape as runc reads it: moat compares it with its own profile rule by rule. */
function checkSeccomp(sc: unknown): void {
  if (!isObj(sc)) bad('linux.seccomp must be an object');
  if (typeof sc.defaultAction !== 'string') bad('linux.seccomp.defaultAction must be a string');
  for (const f of ['architectures', 'flags'])
    if (sc[f] !== undefined && sc[f] !== null && !isStrings(sc[f]))
      bad(`linux.seccomp.${f} must be a list of names`);
  if (sc.syscalls === undefined || sc.syscalls === null) return;
  if (!Array.isArray(sc.syscalls)) bad('linux.seccomp.syscalls must be a list');
  sc.syscalls.forEach((r: unknown, i) => {
    const at = `linux.seccomp.syscalls[${i}]`;
    if (!isObj(r) || !isStrings(r.names)) bad(`${at}.names must be a list of names`);
    if (typeof r.action !== 'string') bad(`${at}.action must be a string`);
    if (r.args === undefined || r.args === null) return;
    if (!Array.isArray(r.args)) bad(`${at}.args must be a list`);
    r.args.forEach((a: unknown, j) => {
      if (
        !isObj(a) ||
        typeof a.index !== 'number' ||
        typeof a.value !== 'number' ||
        typeof a.op !== 'string' ||
        (a.valueTwo !== undefined && typeof a.valueTwo !== 'number')
      )
        bad(`${at}.args[${j}] must have a numeric index and value and an op`);
    });
  });
}

export interface BundleSpec {
  /** The bundle's real path (runc chdirs into it: relative paths in the spec are relative to it). */
  bundle: string;
  spec: CallerSpec;
}

/**
 * A caller's file, read without following a symlink, only if it is a regular file, at most
 * MAX_SPEC_BYTES (counted as read, not trusted from stat).
 */
export function readBounded(file: string, code: 'OCI_BUNDLE_INVALID' | 'OCI_SPEC_INVALID'): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_SPEC_BYTES) throw new Error(`larger than ${MAX_SPEC_BYTES} bytes`);
    const buf = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > MAX_SPEC_BYTES) throw new Error(`larger than ${MAX_SPEC_BYTES} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ELOOP'
        ? 'a symlink (refused: it could name a file outside the bundle)'
        : (e as Error).message;
    throw new OciError(code, `${file}: ${why}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Read and check `<bundle>/config.json`. */
export function readBundleSpec(bundleArg: string): BundleSpec {
  let bundle: string;
  try {
    bundle = realpathSync(bundleArg);
    if (!statSync(bundle).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new OciError('OCI_BUNDLE_INVALID', `bundle ${bundleArg}: ${(e as Error).message}`);
  }
  const text = readBounded(path.join(bundle, 'config.json'), 'OCI_BUNDLE_INVALID');
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  return { bundle, spec: checkSpec(j) };
}
