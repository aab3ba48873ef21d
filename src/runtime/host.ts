/**
 * Host facts: what this machine and this user can do. Collected by reading /proc, /sys and /etc
 * (cheap, no subprocesses) so every command can have them; `moat info` adds the runc version.
 */
import { accessSync, constants, readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { availableParallelism, userInfo } from 'node:os';
import * as path from 'node:path';
import { computeIdMaps, parseSubIds, type IdMaps, type IdRange } from '../userns/idmap.js';
import {
  LOADED_PROFILES_FILE,
  namesFromPolicyDir,
  parseLoadedProfiles,
  POLICY_PROFILES_DIR,
} from '../lsm/apparmor/loaded.js';

export type CgroupController = 'memory' | 'pids' | 'cpu' | 'cpuset' | 'freezer';
/** The controllers moat uses: those of the limits, and the freezer (pause, unpause). */
export const LIMIT_CONTROLLERS: CgroupController[] = ['memory', 'pids', 'cpu', 'cpuset', 'freezer'];

export interface CgroupFacts {
  /** 'v1', 'hybrid' (v1 controllers + a v2 mount without them) or 'v2'. */
  version: 'v1' | 'hybrid' | 'v2' | 'none';
  /** Controller → directory under which moat may create per-container cgroups (delegated to us). */
  delegated: Partial<Record<CgroupController, string>>;
  /** Human-readable reason per controller that is not delegated. */
  missing: Partial<Record<CgroupController, string>>;
}

export interface Rlimit {
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

export interface HostFacts {
  arch: NodeJS.Architecture;
  uid: number;
  gid: number;
  user: string;
  /** Supplementary groups of the caller (they reach a container only under the single-ID mapping: runtime-facts.ts). */
  groups: number[];
  subuids: IdRange[];
  subgids: IdRange[];
  idmaps: IdMaps | { error: string };
  userns: { available: boolean; reason?: string };
  tools: Record<'runc' | 'unshare' | 'nsenter' | 'newuidmap' | 'newgidmap' | 'init', string | undefined>;
  cgroup: CgroupFacts;
  seccomp: boolean;
  landlock: boolean | 'unknown';
  apparmor: boolean;
  /** The AppArmor profiles loaded (names), where AppArmor is enabled and the list is readable. */
  apparmorProfiles?: string[];
  overlay: boolean;
  rlimits: Record<string, Rlimit>;
  /** CPUs this process may run on (docker's bound for --cpus). */
  cpus: number;
}

function read(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExec(name) ? name : undefined;
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...PATH_DIRS];
  for (const d of dirs) {
    const p = path.join(d, name);
    if (isExec(p)) return p;
  }
  return undefined;
}

function isExec(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Parse /proc/self/limits into RLIMIT_* → {soft, hard}. */
export function parseProcLimits(text: string): Record<string, Rlimit> {
  const names: Record<string, string> = {
    'Max cpu time': 'RLIMIT_CPU',
    'Max file size': 'RLIMIT_FSIZE',
    'Max data size': 'RLIMIT_DATA',
    'Max stack size': 'RLIMIT_STACK',
    'Max core file size': 'RLIMIT_CORE',
    'Max resident set': 'RLIMIT_RSS',
    'Max processes': 'RLIMIT_NPROC',
    'Max open files': 'RLIMIT_NOFILE',
    'Max locked memory': 'RLIMIT_MEMLOCK',
    'Max address space': 'RLIMIT_AS',
    'Max file locks': 'RLIMIT_LOCKS',
    'Max pending signals': 'RLIMIT_SIGPENDING',
    'Max msgqueue size': 'RLIMIT_MSGQUEUE',
    'Max nice priority': 'RLIMIT_NICE',
    'Max realtime priority': 'RLIMIT_RTPRIO',
    'Max realtime timeout': 'RLIMIT_RTTIME',
  };
  const out: Record<string, Rlimit> = {};
  for (const line of text.split('\n')) {
    for (const [label, key] of Object.entries(names)) {
      if (!line.startsWith(label)) continue;
      const rest = line.slice(label.length).trim().split(/\s+/);
      const v = (s: string | undefined): number | 'unlimited' =>
        s === 'unlimited' || s === undefined ? 'unlimited' : Number(s);
      out[key] = { soft: v(rest[0]), hard: v(rest[1]) };
    }
  }
  return out;
}

function writableDirOwnedBy(dir: string, uid: number): boolean {
  try {
    const st = statSync(dir);
    if (!st.isDirectory() || (uid !== 0 && st.uid !== uid)) return false;
    accessSync(path.join(dir, 'cgroup.procs'), constants.W_OK);
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which cgroup controllers moat can use. v1: a subtree `/sys/fs/cgroup/<ctrl>/<user>` (or
 * `<uid>`, or `$MOAT_CGROUP_PARENT`) owned by the user — what root sets up, like systemd's
 * Delegate=. v2: the user's own cgroup when it is delegated (writable, controllers enabled).
 * Root may use any controller (moat creates `/sys/fs/cgroup/<ctrl>/moat`).
 */
export function detectCgroups(
  uid: number,
  user: string,
  env: NodeJS.ProcessEnv = process.env,
  root = '/sys/fs/cgroup',
): CgroupFacts {
  const delegated: CgroupFacts['delegated'] = {};
  const missing: CgroupFacts['missing'] = {};
  const isV2 = existsSync(path.join(root, 'cgroup.controllers'));
  const hasV1 = (c: string) => existsSync(path.join(root, c, 'cgroup.procs'));
  const version: CgroupFacts['version'] = isV2
    ? 'v2'
    : hasV1('memory') || hasV1('pids')
      ? existsSync(path.join(root, 'unified'))
        ? 'hybrid'
        : 'v1'
      : 'none';
  const parent = env.MOAT_CGROUP_PARENT;
  if (version === 'v2') {
    const self = (read('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
    const base = parent ? path.join(root, parent) : self ? path.join(root, self.slice(3).trim()) : root;
    const enabled = (
      read(path.join(base, 'cgroup.subtree_control')) ??
      read(path.join(base, 'cgroup.controllers')) ??
      ''
    ).split(/\s+/);
    for (const c of LIMIT_CONTROLLERS) {
      // v2's freezer is no controller: every cgroup but the root has cgroup.freeze.
      if (writableDirOwnedBy(base, uid) && (c === 'freezer' || enabled.includes(c))) delegated[c] = base;
      else missing[c] = `cgroup v2: ${base} is not delegated to uid ${uid} with the ${c} controller enabled`;
    }
    return { version, delegated, missing };
  }
  for (const c of LIMIT_CONTROLLERS) {
    if (!hasV1(c)) {
      missing[c] = `the ${c} controller is not mounted at ${path.join(root, c)}`;
      continue;
    }
    if (uid === 0) {
      delegated[c] = path.join(root, c, parent ?? 'moat');
      continue;
    }
    const cands = parent
      ? [path.join(root, c, parent)]
      : [path.join(root, c, user), path.join(root, c, String(uid))];
    const found = cands.find((d) => writableDirOwnedBy(d, uid));
    if (found) delegated[c] = found;
    else missing[c] = `no cgroup v1 ${c} subtree is delegated to ${user} (looked for ${cands.join(', ')})`;
  }
  return { version, delegated, missing };
}

/**
 * The AppArmor profiles loaded: the kernel's list where this user may read it (root), else the
 * policy tree's directory (any user); undefined where neither can be read.
 */
function loadedProfiles(): string[] | undefined {
  const text = read(LOADED_PROFILES_FILE);
  if (text !== undefined) return parseLoadedProfiles(text).map((p) => p.name);
  try {
    return namesFromPolicyDir(readdirSync(POLICY_PROFILES_DIR));
  } catch {
    return undefined;
  }
}

export function detectHost(env: NodeJS.ProcessEnv = process.env): HostFacts {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let user = env.USER ?? String(uid);
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry: keep $USER */
  }
  // MOAT_SUBUID_FILE / MOAT_SUBGID_FILE: other range files (tests use /dev/null to get the
  // single-ID fallback; newuidmap still checks the real files).
  const subuids = parseSubIds(read(env.MOAT_SUBUID_FILE ?? '/etc/subuid') ?? '', user, uid);
  const subgids = parseSubIds(read(env.MOAT_SUBGID_FILE ?? '/etc/subgid') ?? '', user, uid);
  const maxNs = Number((read('/proc/sys/user/max_user_namespaces') ?? '0').trim());
  const clone = read('/proc/sys/kernel/unprivileged_userns_clone');
  const userns =
    maxNs <= 0
      ? { available: false, reason: 'user.max_user_namespaces is 0' }
      : clone !== undefined && clone.trim() === '0' && uid !== 0
        ? { available: false, reason: 'kernel.unprivileged_userns_clone is 0' }
        : { available: true };
  const status = read('/proc/self/status') ?? '';
  const lsm = read('/sys/kernel/security/lsm');
  const tools = {
    runc: findExecutable(env.MOAT_RUNTIME ?? 'runc', env),
    unshare: findExecutable('unshare', env),
    nsenter: findExecutable('nsenter', env),
    newuidmap: findExecutable('newuidmap', env),
    newgidmap: findExecutable('newgidmap', env),
    init: findExecutable(env.MOAT_INIT ?? 'tini-static', env),
  };
  const apparmor = (read('/sys/module/apparmor/parameters/enabled') ?? '').trim() === 'Y';
  const apparmorProfiles = apparmor ? loadedProfiles() : undefined;
  return {
    arch: process.arch,
    uid,
    gid,
    user,
    groups: (process.getgroups?.() ?? []).filter((g) => g !== gid),
    subuids,
    subgids,
    idmaps: computeIdMaps({ uid, gid, subuids, subgids }),
    userns,
    tools,
    cgroup: detectCgroups(uid, user, env),
    seccomp: /^Seccomp:/m.test(status),
    landlock:
      lsm === undefined
        ? existsSync('/sys/kernel/security/landlock')
          ? true
          : 'unknown'
        : lsm.split(',').includes('landlock'),
    apparmor,
    ...(apparmorProfiles ? { apparmorProfiles } : {}),
    overlay: /\toverlay\n/.test(read('/proc/filesystems') ?? ''),
    rlimits: parseProcLimits(read('/proc/self/limits') ?? ''),
    cpus: availableParallelism(),
  };
}

/**
 * Landlock as `moat info` reports it, from the one probe above (securityfs's list of active LSMs).
 * Where that cannot tell (securityfs not mounted), whether the kernel has the syscalls at all: its
 * symbol table, read only here (it is large, and only info asks).
 */
export function landlockStatus(h: Pick<HostFacts, 'landlock'>, kallsyms = '/proc/kallsyms'): string {
  if (h.landlock !== 'unknown') return h.landlock ? 'enabled' : 'not enabled';
  const symbols = read(kallsyms);
  if (symbols === undefined) return 'unknown';
  return /landlock_create_ruleset/.test(symbols)
    ? 'available (kernel has the syscalls)'
    : 'not in this kernel';
}
