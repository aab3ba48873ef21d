/**
 * Namespaces: which ones runc creates, the UTS hostname, and the namespaced sysctls set inside
 * them. The user namespace is not here: moat's launcher creates it around runc (see src/userns).
 */
import type { OciSpec } from '../oci.js';
import type { RunOptions } from '../options.js';

/**
 * Namespaced kernel parameters every container gets, as Docker sets them: in the container's own
 * network namespace (loopback only) any user may bind a port below 1024 (`httpd -p 80` as a
 * non-root user); the host's own setting is untouched.
 */
export const SYSCTLS: Readonly<Record<string, string>> = { 'net.ipv4.ip_unprivileged_port_start': '0' };

/**
 * The user namespace is created by moat's launcher around runc (see src/userns), so that the
 * overlay root can be mounted inside it; runc's own namespaces nest inside that one.
 */
export function namespaces(): OciSpec['linux']['namespaces'] {
  return ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type }));
}

/** `--hostname`, else the container's name when it is a valid hostname, else the short ID. */
export function hostnameOf(opts: RunOptions, id: string): string {
  return (
    opts.hostname ??
    (opts.name && /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(opts.name) ? opts.name : id.slice(0, 12))
  );
}

/** The user's namespaced sysctls (checked: option-checks.ts) over moat's own. */
export function sysctls(opts: RunOptions): Record<string, string> {
  return { ...SYSCTLS, ...(opts.sysctls ?? {}) };
}
