/**
 * How moat-runtime hardens the specs it is given, found as moat's other settings are (see
 * src/scan/config.ts): `$MOAT_OCI_CONFIG`, else `$XDG_CONFIG_HOME/moat/oci.json`
 * (`~/.config/moat/oci.json`; root's for containerd and CRI-O running as root):
 *
 *   { "mode": "enforce" | "audit" | "off",
 *     "capabilities": ["CAP_CHOWN", ...],   the allow-list (default: Docker's default set)
 *     "pidsLimit": 2048,                    where the spec sets none and has a cgroup (0: none)
 *     "namespaceCapabilities": {"net-tools": ["CAP_NET_ADMIN"]},
 *                                           added to the allow-list for pods in that Kubernetes
 *                                           namespace (the policy must allow them too:
 *                                           data.moat.oci.namespace_capabilities)
 *     "service": "/run/moat/moat.sock" }    ask this running `moat system service` (service.ts;
 *                                           create without Node: native/moat-oci-front.c, whose
 *                                           small parser finds this file the same way)
 *
 * enforce applies the hardening, audit only lists it in the decision log, off neither (the
 * policy decides in every mode). Read synchronously and small (64 KiB cap). A file that exists
 * but is invalid fails the create: a typo must not turn hardening off.
 */
import * as path from 'node:path';
import { LIMIT_DEFAULTS } from '../runtime/default-limits.js';
import { configDir } from '../util/paths.js';
import { OciError } from './errors.js';
import { configObject, readConfigText } from '../util/json-config.js';

export type HardeningMode = 'enforce' | 'audit' | 'off';

export interface OciConfig {
  mode: HardeningMode;
  /** Capabilities a container may keep (CAP_ names); the rest are dropped in enforce mode. */
  capabilities: string[];
  /** pids.max where the spec sets none (0: no default). */
  pidsLimit: number;
  /** Capabilities added to the allow-list for pods in a Kubernetes namespace (CAP_ names). */
  namespaceCapabilities: Record<string, string[]>;
  /** A `moat system service` socket to ask instead of deciding in-process. */
  service?: string;
  /** The file it came from, or undefined for the defaults. */
  file?: string;
}

export const OCI_DEFAULTS: Readonly<Omit<OciConfig, 'file'>> = {
  mode: 'enforce',
  // Docker's (and containerd's) default capability set.
  capabilities: [
    'CAP_AUDIT_WRITE',
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FOWNER',
    'CAP_FSETID',
    'CAP_KILL',
    'CAP_MKNOD',
    'CAP_NET_BIND_SERVICE',
    'CAP_NET_RAW',
    'CAP_SETFCAP',
    'CAP_SETGID',
    'CAP_SETPCAP',
    'CAP_SETUID',
    'CAP_SYS_CHROOT',
  ],
  pidsLimit: LIMIT_DEFAULTS.pids,
  namespaceCapabilities: {},
};

const MAX_CONFIG_BYTES = 64 << 10;
const MODES: readonly HardeningMode[] = ['enforce', 'audit', 'off'];
const CAP_NAME = /^(CAP_)?[A-Z_]+$/;
const capName = (c: string) => (c.startsWith('CAP_') ? c : `CAP_${c}`);

export function ociConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.MOAT_OCI_CONFIG || path.join(configDir(env), 'oci.json');
}

function invalid(file: string, why: string): never {
  throw new OciError('OCI_CONFIG_INVALID', `${file}: ${why}`);
}

export function ociConfig(env: NodeJS.ProcessEnv = process.env): OciConfig {
  const file = ociConfigFile(env);
  const text = readConfigText(file, MAX_CONFIG_BYTES, (why) => invalid(file, why));
  if (text === undefined)
    return { ...OCI_DEFAULTS, capabilities: [...OCI_DEFAULTS.capabilities], namespaceCapabilities: {} };
  const o = configObject(
    text,
    ['mode', 'capabilities', 'pidsLimit', 'service', 'namespaceCapabilities'],
    (why) => invalid(file, why),
  );
  if (o.mode !== undefined && !MODES.includes(o.mode as HardeningMode))
    invalid(file, `"mode" must be one of ${MODES.join(', ')}`);
  if (
    o.capabilities !== undefined &&
    (!Array.isArray(o.capabilities) || o.capabilities.some((c) => typeof c !== 'string' || !CAP_NAME.test(c)))
  )
    invalid(file, '"capabilities" must be a list of capability names (CAP_CHOWN, ...)');
  const nsCaps = o.namespaceCapabilities;
  if (
    nsCaps !== undefined &&
    (typeof nsCaps !== 'object' ||
      nsCaps === null ||
      Array.isArray(nsCaps) ||
      Object.values(nsCaps).some(
        (l) => !Array.isArray(l) || l.some((c) => typeof c !== 'string' || !CAP_NAME.test(c)),
      ))
  )
    invalid(file, '"namespaceCapabilities" must map Kubernetes namespaces to lists of capability names');
  if (o.pidsLimit !== undefined && (!Number.isSafeInteger(o.pidsLimit) || (o.pidsLimit as number) < 0))
    invalid(file, '"pidsLimit" must be a whole number (0: none)');
  if (o.service !== undefined && (typeof o.service !== 'string' || !path.isAbsolute(o.service)))
    invalid(file, '"service" must be the absolute path of a moat service socket');
  return {
    mode: (o.mode as HardeningMode | undefined) ?? OCI_DEFAULTS.mode,
    capabilities: ((o.capabilities as string[] | undefined) ?? OCI_DEFAULTS.capabilities).map((c) =>
      c.startsWith('CAP_') ? c : `CAP_${c}`,
    ),
    pidsLimit: (o.pidsLimit as number | undefined) ?? OCI_DEFAULTS.pidsLimit,
    namespaceCapabilities: Object.fromEntries(
      Object.entries((nsCaps as Record<string, string[]> | undefined) ?? {}).map(([ns, l]) => [
        ns,
        l.map(capName),
      ]),
    ),
    ...(typeof o.service === 'string' ? { service: o.service } : {}),
    file,
  };
}
