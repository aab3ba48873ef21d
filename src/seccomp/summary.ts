/**
 * What the policy sees of a container's seccomp filter: its default action, its size, and
 * whether it lets through anything moat's default profile blocks (for the same capabilities and
 * architecture). Pure: both filters are resolved `linux.seccomp` objects (see resolve.ts).
 *
 * "Looser" is decided conservatively, syscall by syscall; a profile is reported looser when it
 * cannot be shown to allow only what the default allows:
 *
 * - a default action that lets calls through (ALLOW, LOG, and TRACE/NOTIFY, which hand the
 *   decision to a tracer or supervisor) where the default's does not;
 * - an architecture the default does not filter (its calls would be judged by this profile's
 *   rules instead of the bad-architecture action), or SECCOMP_FILTER_FLAG_SPEC_ALLOW;
 * - for each syscall, a rule that lets calls through unless the default lets through every call
 *   of that syscall, or the rule is at least as narrow as one of the default's rules for it (all of
 *   the default rule's argument comparisons are among its own: comparisons are ANDed); a syscall
 *   the profile lets through by its default action where the default profile does not.
 */
import type { LinuxSeccomp, LinuxSyscall, SeccompAction } from './types.js';

export interface SeccompComparison {
  /** The profile's default action (`null`: no filter at all). */
  defaultAction: SeccompAction | null;
  /** Rules in the resolved profile (entries of `syscalls`). */
  ruleCount: number;
  /** It lets through something the default profile blocks. */
  looserThanDefault: boolean;
  /** What it loosens: syscall names, `defaultAction`, `architectures`, `flags` (sorted, at most 20). */
  loosened: string[];
  /** How many there are in all (the list above is cut at 20). */
  loosenedCount: number;
}

const LET_THROUGH: ReadonlySet<SeccompAction> = new Set([
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_NOTIFY',
]);

/** The action lets the call run (or lets something outside the filter decide that it does). */
export function letsThrough(action: SeccompAction): boolean {
  return LET_THROUGH.has(action);
}

/** Per syscall: the argument conditions of each rule that lets calls through, and whether any rule blocks. */
interface SyscallRules {
  /** Each entry one rule's comparisons, as canonical strings; an empty entry matches every call. */
  allow: string[][];
  /** Canonical form of every rule (action class + comparisons), to recognise an identical rule set. */
  all: string[];
  blocks: boolean;
}

function condition(a: NonNullable<LinuxSyscall['args']>[number]): string {
  return `${a.index}:${a.op}:${a.value}:${a.op === 'SCMP_CMP_MASKED_EQ' ? (a.valueTwo ?? 0) : 0}`;
}

function bySyscall(f: LinuxSeccomp): Map<string, SyscallRules> {
  const m = new Map<string, SyscallRules>();
  for (const rule of f.syscalls ?? []) {
    const conds = (rule.args ?? []).map(condition).sort();
    const through = letsThrough(rule.action);
    for (const name of rule.names) {
      let e = m.get(name);
      if (!e) m.set(name, (e = { allow: [], all: [], blocks: false }));
      if (through) e.allow.push(conds);
      else e.blocks = true;
      e.all.push(`${through ? 'pass' : 'stop'}(${conds.join(',')})`);
    }
  }
  return m;
}

/** `narrow` has every comparison of `wide`, so it matches a subset of the calls `wide` matches. */
function atLeastAsNarrow(narrow: readonly string[], wide: readonly string[]): boolean {
  return wide.every((c) => narrow.includes(c));
}

function sameRules(a: SyscallRules, b: SyscallRules): boolean {
  if (a.all.length !== b.all.length) return false;
  const x = [...a.all].sort();
  const y = [...b.all].sort();
  return x.every((v, i) => v === y[i]);
}

/** Does `p` let through some call of this syscall that `r` (the reference) does not? */
function loosensSyscall(
  p: SyscallRules | undefined,
  r: SyscallRules | undefined,
  pDefault: boolean,
  rDefault: boolean,
): boolean {
  const pEmpty: SyscallRules = { allow: [], all: [], blocks: false };
  const pr = p ?? pEmpty;
  const rr = r ?? pEmpty;
  // The reference lets every call of it through: nothing can be looser.
  if (!rr.blocks && (rr.allow.some((c) => c.length === 0) || (rDefault && rr.all.length === 0))) return false;
  // Identical rules under defaults that agree: the same filter for this syscall.
  if (p && r && sameRules(pr, rr) && (pDefault === rDefault || !pDefault)) return false;
  // Calls that match none of p's rules get p's default action.
  const pUnconditionalBlock = pr.blocks && pr.all.some((s) => s === 'stop()');
  if (pDefault && !pUnconditionalBlock) return true;
  if (pr.allow.length === 0) return false;
  // The reference's own blocking rules may carve calls out of its allowing ones: only an
  // identical rule set (above) is then known to be no looser.
  if (rr.blocks) return true;
  return !pr.allow.every((pc) => rr.allow.some((rc) => atLeastAsNarrow(pc, rc)));
}

const LIST_MAX = 20;

/**
 * Compare a container's resolved filter with the default profile resolved for the same
 * capabilities and architecture. `profile` null means no filter at all (looser than anything).
 * `listMax`: how much of `loosened` to keep (Infinity: all of it, for moat-runtime's narrowing).
 */
export function compareSeccomp(
  profile: LinuxSeccomp | null,
  reference: LinuxSeccomp,
  listMax = LIST_MAX,
): SeccompComparison {
  if (profile === null) {
    return {
      defaultAction: null,
      ruleCount: 0,
      looserThanDefault: true,
      loosened: ['unconfined'],
      loosenedCount: 1,
    };
  }
  const loosened: string[] = [];
  const pDefault = letsThrough(profile.defaultAction);
  const rDefault = letsThrough(reference.defaultAction);
  if (pDefault && !rDefault) loosened.push('defaultAction');
  const rArches = new Set(reference.architectures ?? []);
  if ((profile.architectures ?? []).some((a) => !rArches.has(a))) loosened.push('architectures');
  const rFlags = new Set(reference.flags ?? []);
  if ((profile.flags ?? []).some((f) => f === 'SECCOMP_FILTER_FLAG_SPEC_ALLOW' && !rFlags.has(f)))
    loosened.push('flags');
  const p = bySyscall(profile);
  const r = bySyscall(reference);
  const names = new Set([...p.keys(), ...r.keys()]);
  const syscalls: string[] = [];
  for (const name of names) {
    // A call the profile does not name is let through by its default action: said once above.
    if (pDefault && !rDefault && !p.has(name)) continue;
    if (loosensSyscall(p.get(name), r.get(name), pDefault, rDefault)) syscalls.push(name);
  }
  syscalls.sort();
  loosened.push(...syscalls);
  return {
    defaultAction: profile.defaultAction,
    ruleCount: profile.syscalls?.length ?? 0,
    looserThanDefault: loosened.length > 0,
    loosened: loosened.slice(0, listMax),
    loosenedCount: loosened.length,
  };
}
