/**
 * What the policy sees of an `oci.create`: the caller's spec as given (`facts.spec`), the pod it
 * belongs to (`facts.pod`, from the annotations Kubernetes' runtimes set), the caller
 * (`facts.caller`: container ID, bundle, podman's annotations) and a summary in plain terms
 * (`facts.oci`: capabilities, host namespaces, bind mounts, host devices and device cgroup rules,
 * sysctls, the AppArmor profile, seccomp, and the hardening moat applies). Computed from the
 * request body; the only reads are of bind sources' canonical paths.
 */
import { canonicalPath } from '../util/canonical-path.js';
import type { Change, SeccompFacts } from './harden.js';
import { CAP_SETS, type CallerSpec } from './spec.js';

/** Annotations naming the pod: containerd's CRI plugin, then CRI-O (and kubelet's own). */
const POD_KEYS = {
  containerd: {
    name: 'io.kubernetes.cri.sandbox-name',
    namespace: 'io.kubernetes.cri.sandbox-namespace',
    container: 'io.kubernetes.cri.container-name',
    type: 'io.kubernetes.cri.container-type',
    uid: 'io.kubernetes.cri.sandbox-uid',
  },
  'cri-o': {
    name: 'io.kubernetes.pod.name',
    namespace: 'io.kubernetes.pod.namespace',
    container: 'io.kubernetes.container.name',
    type: 'io.kubernetes.cri-o.ContainerType',
    uid: 'io.kubernetes.pod.uid',
  },
} as const;

export interface PodFacts {
  /** Which runtime's annotations named the pod; null: none did (not a Kubernetes container). */
  source: 'containerd' | 'cri-o' | null;
  name: string | null;
  namespace: string | null;
  container: string | null;
  /** The pod's sandbox (pause) container rather than one of its containers. */
  sandbox: boolean;
  uid: string | null;
}

export function podFacts(annotations: Record<string, string>): PodFacts {
  for (const source of ['containerd', 'cri-o'] as const) {
    const k = POD_KEYS[source];
    if (annotations[k.name] === undefined && annotations[k.namespace] === undefined) continue;
    const type = annotations[k.type];
    return {
      source,
      name: annotations[k.name] ?? null,
      namespace: annotations[k.namespace] ?? null,
      container: annotations[k.container] ?? null,
      sandbox: type === 'sandbox',
      uid: annotations[k.uid] ?? null,
    };
  }
  return { source: null, name: null, namespace: null, container: null, sandbox: false, uid: null };
}

/** Namespaces a container shares with the host when its spec lists none of that type. */
const CHECKED_NAMESPACES = ['pid', 'network', 'ipc', 'uts', 'mount'] as const;

/** A spec holding this many capabilities asks for all of them (`--privileged`). */
const PRIVILEGED_CAPS = 38;

export function capabilityNames(spec: CallerSpec): string[] {
  const caps = spec.process?.capabilities ?? {};
  const all = new Set<string>();
  for (const set of CAP_SETS) for (const c of caps[set] ?? []) all.add(c.toUpperCase().replace(/^CAP_/, ''));
  return [...all].sort();
}

export function ociSummary(
  spec: CallerSpec,
  bundle: string,
  hardening: { mode: string; changes: Change[]; applied: boolean },
  /** The caller's filter against moat's profile (harden.ts). */
  seccomp?: SeccompFacts,
): Record<string, unknown> {
  const annotations = spec.annotations ?? {};
  const caps = capabilityNames(spec);
  const nsTypes = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  const sc = spec.linux?.seccomp as { defaultAction?: unknown; syscalls?: unknown } | undefined;
  return {
    capabilities: caps,
    privileged: caps.length >= PRIVILEGED_CAPS || annotations['io.podman.annotations.privileged'] === 'TRUE',
    host_namespaces: CHECKED_NAMESPACES.filter((t) => !nsTypes.has(t)),
    // Namespaces joined by path: a pod's containers join its sandbox's network, IPC and UTS.
    joined_namespaces: (spec.linux?.namespaces ?? [])
      .filter((n) => n.path)
      .map((n) => ({ type: n.type, path: n.path })),
    bind_mounts: (spec.mounts ?? [])
      .filter((m) => m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind'))
      .map((m) => ({
        // Canonical: a symlink to /etc is /etc (runc follows it when it mounts).
        source: m.source === undefined ? null : canonicalPath(m.source, bundle),
        raw_source: m.source ?? null,
        destination: m.destination,
        readonly: (m.options ?? []).includes('ro'),
      })),
    // The root filesystem, canonical: "/" would be the host's own.
    root: { path: canonicalPath(spec.root.path, bundle), readonly: spec.root.readonly === true },
    // Hooks run on the host, as the runtime's user (root under containerd and CRI-O).
    hooks: hookFacts(spec.hooks),
    user: { uid: spec.process?.user?.uid ?? 0, gid: spec.process?.user?.gid ?? 0 },
    no_new_privileges: spec.process?.noNewPrivileges === true,
    // Device nodes the spec has runc create, by number: the path is the caller's choice
    // (/dev/null may be made with the numbers of a disk).
    devices: deviceFacts(spec.linux?.devices),
    // The device cgroup's allow rules that give read or write access (mknod alone opens nothing).
    device_rules: deviceRuleFacts((spec.linux?.resources as { devices?: unknown } | undefined)?.devices),
    sysctls: sysctlNames(spec.linux?.sysctl),
    apparmor_profile: typeof spec.process?.apparmorProfile === 'string' ? spec.process.apparmorProfile : null,
    seccomp: {
      ...(sc
        ? {
            present: true,
            default_action: typeof sc.defaultAction === 'string' ? sc.defaultAction : null,
            rule_count: Array.isArray(sc.syscalls) ? sc.syscalls.length : 0,
          }
        : { present: false, default_action: null, rule_count: 0 }),
      ...seccomp,
    },
    hardening,
  };
}

/** `c 1:3`, `b 8:*`, `a *:*`: a device as the device cgroup names it; `*` for any number. */
function deviceName(type: unknown, major: unknown, minor: unknown): string {
  const num = (n: unknown) => (typeof n === 'number' && n >= 0 ? String(n) : '*');
  const t = typeof type === 'string' && type !== '' ? type : 'a';
  return `${t} ${t === 'a' ? '*' : num(major)}:${t === 'a' ? '*' : num(minor)}`;
}

function objects(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v)
    ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x))
    : [];
}

function deviceFacts(devices: unknown): { path: string | null; device: string }[] {
  return objects(devices).map((d) => ({
    path: typeof d.path === 'string' ? d.path : null,
    device: deviceName(d.type, d.major, d.minor),
  }));
}

function deviceRuleFacts(rules: unknown): { device: string; access: string }[] {
  return objects(rules)
    .filter((r) => r.allow === true)
    .map((r) => ({
      device: deviceName(r.type, r.major, r.minor),
      access: typeof r.access === 'string' ? r.access : 'rwm',
    }))
    .filter((r) => /[rw]/.test(r.access));
}

/** The names in linux.sysctl, with runc's `/` spelling (net/ipv4/...) read as dots. */
function sysctlNames(sysctl: unknown): string[] {
  if (typeof sysctl !== 'object' || sysctl === null || Array.isArray(sysctl)) return [];
  return Object.keys(sysctl)
    .map((k) => k.replaceAll('/', '.'))
    .sort();
}

function hookFacts(hooks: unknown): { stage: string; path: string | null }[] {
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) return [];
  return Object.entries(hooks as Record<string, unknown>).flatMap(([stage, list]) =>
    Array.isArray(list)
      ? list.map((h: unknown) => ({
          stage,
          path: typeof (h as { path?: unknown })?.path === 'string' ? (h as { path: string }).path : null,
        }))
      : [],
  );
}

export function callerFacts(id: string, bundle: string, spec: CallerSpec): Record<string, unknown> {
  const annotations = spec.annotations ?? {};
  return {
    id,
    bundle,
    manager: annotations['io.container.manager'] ?? null,
    podman: Object.fromEntries(
      Object.entries(annotations)
        .filter(([k]) => k.startsWith('io.podman.annotations.'))
        .map(([k, v]) => [k.slice('io.podman.annotations.'.length), v]),
    ),
    annotations,
  };
}
