import { SeccompError } from './errors.js';
import type {
  LinuxSeccomp,
  LinuxSyscall,
  SeccompArch,
  SeccompExcludes,
  SeccompIncludes,
  SeccompProfile,
  SeccompRule,
} from './types.js';

export interface ResolveOptions {
  /** Capabilities the container will actually have (bounding set), e.g. `["CAP_NET_RAW"]`. */
  capabilities: readonly string[];
  /** Host architecture, as `process.arch` spells it. */
  arch: NodeJS.Architecture;
  /**
   * Host kernel release (`os.release()`, e.g. `6.1.0-18-amd64`). Needed only when a rule has
   * `includes.minKernel`; such a profile without it is refused rather than guessed at.
   */
  kernelVersion?: string;
}

interface HostArch {
  /** libseccomp's name for the native ABI. */
  scmp?: SeccompArch;
  /** Spellings a profile may use in `includes.arches` (Docker uses Go's `GOARCH`). */
  aliases: readonly string[];
}

const HOST_ARCHES: Partial<Record<NodeJS.Architecture, HostArch>> = {
  x64: { scmp: 'SCMP_ARCH_X86_64', aliases: ['amd64', 'x86_64', 'x64'] },
  arm64: { scmp: 'SCMP_ARCH_AARCH64', aliases: ['arm64', 'aarch64'] },
  ia32: { scmp: 'SCMP_ARCH_X86', aliases: ['386', 'x86', 'ia32'] },
  arm: { scmp: 'SCMP_ARCH_ARM', aliases: ['arm'] },
  ppc64: { scmp: 'SCMP_ARCH_PPC64LE', aliases: ['ppc64le', 'ppc64'] },
  s390x: { scmp: 'SCMP_ARCH_S390X', aliases: ['s390x'] },
  riscv64: { scmp: 'SCMP_ARCH_RISCV64', aliases: ['riscv64'] },
};

function hostArch(arch: NodeJS.Architecture): HostArch {
  return HOST_ARCHES[arch] ?? { aliases: [arch] };
}

/** Accepts `CAP_NET_RAW`, `NET_RAW` and `net_raw` alike. */
function normalizeCap(cap: string): string {
  const upper = cap.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

function parseKernel(version: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function kernelAtLeast(host: string | undefined, min: string): boolean {
  const want = parseKernel(min);
  if (!want) {
    throw new SeccompError('SECCOMP_INVALID_PROFILE', `minKernel "${min}" is not a kernel version`, {
      hint: 'write it as major.minor, e.g. "5.8"',
    });
  }
  const have = host === undefined ? undefined : parseKernel(host);
  if (!have) {
    throw new SeccompError(
      'SECCOMP_KERNEL_UNKNOWN',
      'the profile has a minKernel rule but the host kernel is unknown',
      {
        hint: 'pass kernelVersion (os.release()) to resolveSeccomp',
        details: { kernelVersion: host },
      },
    );
  }
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}

function applies(
  includes: SeccompIncludes | undefined,
  excludes: SeccompExcludes | undefined,
  caps: ReadonlySet<string>,
  arch: HostArch,
  kernelVersion: string | undefined,
): boolean {
  const archListed = (list: readonly string[]) => list.some((a) => arch.aliases.includes(a.toLowerCase()));
  if (includes) {
    if (includes.caps?.length && !includes.caps.every((c) => caps.has(normalizeCap(c)))) return false;
    if (includes.arches?.length && !archListed(includes.arches)) return false;
    if (includes.minKernel && !kernelAtLeast(kernelVersion, includes.minKernel)) return false;
  }
  if (excludes) {
    if (excludes.caps?.some((c) => caps.has(normalizeCap(c)))) return false;
    if (excludes.arches?.length && archListed(excludes.arches)) return false;
  }
  return true;
}

function architecturesFor(profile: SeccompProfile, arch: HostArch): SeccompArch[] | undefined {
  if (profile.archMap?.length) {
    // As Docker does: the entry for the host, or none at all (runc then filters the native ABI
    // only, and calls from any other ABI hit the bad-arch action).
    const entry = profile.archMap.find((e) => e.architecture === arch.scmp);
    return entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : [];
  }
  return profile.architectures ? [...profile.architectures] : undefined;
}

function toLinuxSyscall(rule: SeccompRule): LinuxSyscall {
  return {
    names: [...rule.names],
    action: rule.action,
    ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
    ...(rule.args?.length ? { args: rule.args.map((a) => ({ ...a })) } : {}),
  };
}

/**
 * Rules without arguments and with the same action are folded into one entry, dropping repeated
 * names; rules with arguments are kept as they are, in order. libseccomp treats the rule list as
 * a set, so this changes nothing but the size of config.json.
 */
function fold(rules: LinuxSyscall[]): LinuxSyscall[] {
  const out: LinuxSyscall[] = [];
  const plain = new Map<string, { rule: LinuxSyscall; seen: Set<string> }>();
  for (const rule of rules) {
    if (rule.args) {
      out.push(rule);
      continue;
    }
    const key = `${rule.action}/${rule.errnoRet ?? ''}`;
    const existing = plain.get(key);
    if (!existing) {
      const fresh = { ...rule, names: [...new Set(rule.names)] };
      plain.set(key, { rule: fresh, seen: new Set(fresh.names) });
      out.push(fresh);
      continue;
    }
    for (const name of rule.names) {
      if (!existing.seen.has(name)) {
        existing.seen.add(name);
        existing.rule.names.push(name);
      }
    }
  }
  return out;
}

/**
 * Turn a profile into the `linux.seccomp` object runc reads, for one container: rules whose
 * `includes`/`excludes` do not match the granted capabilities, host arch and kernel are dropped,
 * and the conditions themselves are removed. Pure: no I/O, the input is not modified.
 */
export function resolveSeccomp(profile: SeccompProfile, opts: ResolveOptions): LinuxSeccomp {
  const caps = new Set(opts.capabilities.map(normalizeCap));
  const arch = hostArch(opts.arch);
  const rules = (profile.syscalls ?? [])
    .filter((r) => applies(r.includes, r.excludes, caps, arch, opts.kernelVersion))
    .map(toLinuxSyscall);
  const architectures = architecturesFor(profile, arch);
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    ...(architectures !== undefined ? { architectures } : {}),
    ...(profile.flags?.length ? { flags: [...profile.flags] } : {}),
    ...(profile.listenerPath !== undefined ? { listenerPath: profile.listenerPath } : {}),
    ...(profile.listenerMetadata !== undefined ? { listenerMetadata: profile.listenerMetadata } : {}),
    syscalls: fold(rules),
  };
}
