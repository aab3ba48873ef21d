/**
 * Security settings of the spec: capabilities (none unless `--cap-add`), no_new_privs (always),
 * the seccomp filter (resolved by src/seccomp and passed in), the AppArmor profile (chosen by
 * plan.ts from the options and the host facts, passed in by name), and the masked and read-only
 * /proc and /sys paths. Landlock is landlock.ts's: moat-init applies it, not runc.
 */
import type { OciSeccomp, OciSpec } from '../oci.js';
import type { RunOptions } from '../options.js';

export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** moat never lets a process gain privileges through setuid files; there is no option to. */
export const NO_NEW_PRIVILEGES = true;

/** Exactly the `--cap-add` capabilities, sorted, each once; never inheritable or ambient. */
export function capabilities(opts: RunOptions): OciSpec['process']['capabilities'] {
  const caps = [...new Set(opts.capAdd)].sort();
  return { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
}

/** The `linux.seccomp` section: present unless the filter is null (an explicit unconfined opt-in). */
export function seccompSection(seccomp: OciSeccomp | null): { seccomp?: OciSeccomp } {
  return seccomp ? { seccomp } : {};
}

/** `process.apparmorProfile`: present when the run gets a profile (plan.ts chose and checked it). */
export function apparmorSection(profile: string | undefined): { apparmorProfile?: string } {
  return profile ? { apparmorProfile: profile } : {};
}
