/**
 * What moat knows about the OCI runtime it drives and what the host really does with the
 * caller's groups: for `moat info` and for the policy (`input.facts.host.runtime`), so a rule can
 * require a minimum runtime or refuse one with a known, unfixed advisory.
 *
 * A distribution often backports a fix without changing the upstream version (Debian's runc
 * 1.1.5+ds1-1+deb12u1 carries the fix for CVE-2024-21626): an advisory counts as fixed when the
 * upstream version is at or past a fixed release of its branch, or when the package's changelog
 * names the CVE.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomicSync } from '../util/fsutil.js';

export interface RuntimeAdvisory {
  id: string;
  summary: string;
  /** The first fixed release of each maintained branch (`major.minor.patch`). */
  fixedIn: string[];
  /** What moat's own setup does about it where the runtime is not fixed. */
  mitigation: string;
}

/** runc advisories that matter to a rootless runtime (newest first). */
export const RUNC_ADVISORIES: readonly RuntimeAdvisory[] = [
  {
    id: 'CVE-2025-52881',
    summary: 'procfs writes redirected through racing shared mounts (LSM labels, sysctls)',
    fixedIn: ['1.2.8', '1.3.3', '1.4.0'],
    mitigation:
      'runc runs inside a user namespace owned by the user: a redirected write to a host sysctl or ' +
      'procfs file needs privileges over the initial namespace that it does not have; moat shares no ' +
      'mounts between containers and lets no mount target /proc, /sys or /dev',
  },
  {
    id: 'CVE-2025-52565',
    summary: '/dev/console bind mount redirected before the masks are applied',
    fixedIn: ['1.2.8', '1.3.3', '1.4.0'],
    mitigation:
      'moat asks for no terminal unless a TTY is requested, so runc mounts no /dev/console; /dev is a ' +
      'fresh tmpfs per container that no mount may target',
  },
  {
    id: 'CVE-2025-31133',
    summary: 'masked paths mounted from a /dev/null the container replaced (symlink race)',
    fixedIn: ['1.2.8', '1.3.3', '1.4.0'],
    mitigation:
      "the container's /dev is a fresh tmpfs that only runc writes before the container's first " +
      'process runs (no shared /dev, no volume may target /dev); a redirected mask could only expose ' +
      'files the unprivileged user namespace may write anyway',
  },
  {
    id: 'CVE-2024-21626',
    summary: 'leaked host file descriptors let a container reach the host filesystem (working directory)',
    fixedIn: ['1.1.12'],
    mitigation: 'none beyond the user namespace: update runc',
  },
  {
    id: 'CVE-2023-27561',
    summary: 'AppArmor bypass through a /proc symlink (re-introduced CVE-2019-19921)',
    fixedIn: ['1.1.5'],
    mitigation:
      'moat applies AppArmor only where an administrator loaded a profile (moat-default, --security-opt apparmor=NAME); there, a runc older than 1.1.5 lets a container escape its profile',
  },
];

/** Compare dotted versions numerically (`1.1.5+ds1` is 1.1.5). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => (/^(\d+(?:\.\d+)*)/.exec(v)?.[1] ?? '0').split('.').map(Number);
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** Whether `version` carries the fix of an advisory fixed in these releases (one per branch). */
export function fixedUpstream(version: string, fixedIn: readonly string[]): boolean {
  const branch = (v: string) => v.split('.').slice(0, 2).join('.');
  const sorted = [...fixedIn].sort(compareVersions);
  const same = sorted.find((f) => branch(f) === branch(version));
  if (same) return compareVersions(version, same) >= 0;
  // A branch with no fixed release of its own: fixed only if it is newer than every fixed branch.
  const newest = sorted[sorted.length - 1];
  return newest !== undefined && compareVersions(version, newest) >= 0;
}

export interface RuntimeFacts {
  name: 'runc';
  path: string | null;
  /** Upstream version (`1.1.5`), or null when runc is missing or did not say. */
  version: string | null;
  /** The distribution's package version when runc came from one (`1.1.5+ds1-1+deb12u1`). */
  package: string | null;
  /** Advisories this runtime does not fix (ids, newest first). */
  unfixed: string[];
  /** Advisories fixed by a distribution backport rather than by the upstream version. */
  backported: string[];
}

/** Pure: the facts for a version string, a package version and its changelog text. */
export function runtimeFactsFrom(
  path: string | null,
  versionOutput: string | undefined,
  changelog: string | undefined,
): RuntimeFacts {
  const version = versionOutput ? (/runc version (\d+\.\d+\.\d+)/.exec(versionOutput)?.[1] ?? null) : null;
  const pkg = versionOutput ? (/^commit: (\d\S*[-+]\S*)$/m.exec(versionOutput)?.[1] ?? null) : null;
  const unfixed: string[] = [];
  const backported: string[] = [];
  if (version) {
    for (const a of RUNC_ADVISORIES) {
      if (fixedUpstream(version, a.fixedIn)) continue;
      if (changelog?.includes(a.id)) backported.push(a.id);
      else unfixed.push(a.id);
    }
  }
  return { name: 'runc', path, version, package: pkg, unfixed, backported };
}

function debianChangelog(): string | undefined {
  // Bounded: a changelog is small; anything past 1 MiB compressed is not one.
  let fd: number | undefined;
  try {
    fd = openSync('/usr/share/doc/runc/changelog.Debian.gz', 'r');
    const buf = Buffer.alloc(1 << 20);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return gunzipSync(buf.subarray(0, n), { maxOutputLength: 8 << 20 }).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const cache = new Map<string, RuntimeFacts>();
const versionOutputs = new Map<string, string | undefined>();

/**
 * What `runc --version` printed is kept between commands in the runtime directory (the user's
 * own, 0700), keyed by the binary's identity: its canonical path, device, inode, size, and
 * modification and change times in nanoseconds. Replacing or upgrading runc changes the inode or
 * the change time (which no one can set back), so the answer is asked again then. Starting runc
 * costs a fork of the CLI and a Go start on every run; a stat does not.
 */
const VERSION_FILE = 'runc-version.json';
const MAX_VERSION_FILE = 64 << 10;

function binaryIdentity(runc: string): string | undefined {
  try {
    const st = statSync(runc, { bigint: true });
    if (!st.isFile()) return undefined;
    return [path.resolve(runc), st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':');
  } catch {
    return undefined;
  }
}

function keptOutput(runc: string, dir: string | undefined): { hit: boolean; out?: string } {
  if (!dir) return { hit: false };
  const id = binaryIdentity(runc);
  if (!id) return { hit: false };
  try {
    const text = readFileSync(path.join(dir, VERSION_FILE), 'utf8');
    if (text.length > MAX_VERSION_FILE) return { hit: false };
    const kept = JSON.parse(text) as { id?: unknown; out?: unknown };
    if (kept.id === id && typeof kept.out === 'string') return { hit: true, out: kept.out };
  } catch {
    /* not kept yet, or not readable as kept: ask */
  }
  return { hit: false };
}

function keepOutput(runc: string, dir: string | undefined, out: string | undefined): void {
  // A failed answer is not kept: the next command asks again.
  if (!dir || out === undefined) return;
  const id = binaryIdentity(runc);
  if (!id) return;
  try {
    writeFileAtomicSync(path.join(dir, VERSION_FILE), JSON.stringify({ id, out }) + '\n');
  } catch {
    /* the runtime directory is not there (yet): ask again next time */
  }
}

/**
 * What `runc --version` printed (undefined: no runc, or it failed), asked once per process and
 * path, and once per binary where `dir` (the runtime directory) keeps the answer.
 */
function versionOutput(runc: string | undefined, dir?: string): string | undefined {
  if (!runc) return undefined;
  if (versionOutputs.has(runc)) return versionOutputs.get(runc);
  const kept = keptOutput(runc, dir);
  if (kept.hit) {
    versionOutputs.set(runc, kept.out);
    return kept.out;
  }
  let out: string | undefined;
  try {
    out = execFileSync(runc, ['--version'], { encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 10 });
  } catch {
    out = undefined;
  }
  versionOutputs.set(runc, out);
  keepOutput(runc, dir, out);
  return out;
}

const asked = new Map<string, Promise<void>>();

/**
 * Asks `runc --version` without waiting for it, so that the facts that read it (runtimeFacts) find
 * it answered: a run's facts start it before planning and wait for it after (the runc process
 * then starts while the image is resolved and the spec made, not while the CLI waits on it). The
 * same command, options, outcome and keeping in `dir` as versionOutput; never rejects.
 */
export function askRuntimeVersion(runc: string | undefined, dir?: string): Promise<void> {
  if (!runc || versionOutputs.has(runc)) return Promise.resolve();
  const kept = keptOutput(runc, dir);
  if (kept.hit) {
    versionOutputs.set(runc, kept.out);
    return Promise.resolve();
  }
  let p = asked.get(runc);
  if (!p) {
    p = new Promise<void>((resolve) => {
      const answer = (out: string | undefined) => {
        if (!versionOutputs.has(runc)) {
          versionOutputs.set(runc, out);
          keepOutput(runc, dir, out);
        }
        resolve();
      };
      try {
        execFile(
          runc,
          ['--version'],
          { encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 10 },
          (err, out, errOut) => {
            // execFileSync passes runc's stderr through: so does this.
            if (errOut) process.stderr.write(errOut);
            answer(err ? undefined : out);
          },
        );
      } catch {
        answer(undefined); // what versionOutput makes of a command that cannot even be started
      }
    });
    asked.set(runc, p);
  }
  return p;
}

/** The first line runc prints of its version (`runc version 1.1.5`), for `moat info`. */
export function runtimeVersionText(runc: string | undefined, dir?: string): string | undefined {
  return versionOutput(runc, dir)?.split('\n')[0];
}

/**
 * The runtime's facts, computed once per process and runc path; `dir` (the runtime directory)
 * keeps what runc said of its version between commands (see VERSION_FILE).
 */
export function runtimeFacts(runc: string | undefined, dir?: string): RuntimeFacts {
  const key = runc ?? '';
  const hit = cache.get(key);
  if (hit) return hit;
  const out = versionOutput(runc, dir);
  const packaged = runc !== undefined && /^\/usr\/s?bin\/runc$/.test(runc);
  const facts = runtimeFactsFrom(runc ?? null, out, packaged ? debianChangelog() : undefined);
  cache.set(key, facts);
  return facts;
}

/**
 * Whether the caller's supplementary groups reach the container. With a subordinate range moat
 * makes the user namespace with newgidmap, which leaves setgroups(2) allowed in it, and runc
 * then replaces the groups with the spec's (the image user's): the caller's groups are dropped.
 * With the single-ID mapping setgroups is denied in the namespace, so the caller's groups stay
 * (as the overflow group 65534 unless mapped). Seen from inside containers on this host kind.
 */
export function groupsReachContainers(mode: 'subordinate' | 'single' | 'unavailable'): boolean {
  return mode === 'single';
}
