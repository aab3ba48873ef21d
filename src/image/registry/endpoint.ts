/**
 * From a reference to a registry endpoint, and how to reach it. Pure functions.
 *
 * Short-name rule: a reference without a registry host (`alpine`, `team/app:1`) is pulled from
 * `defaultRegistry` in registries.json, qualified as that registry would (`docker.io/library/…`
 * for Docker Hub). With no default registry configured, a short name is an error
 * (REGISTRY_NO_DEFAULT): moat never contacts a registry the user did not name or configure.
 *
 * Transport rule: HTTPS with certificate verification, except
 *  - `--tls-verify=false`, or a registry listed in `insecure` (or `registries[host].insecure`):
 *    HTTPS without verification, falling back to plain HTTP;
 *  - loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`) while `allowLoopbackHttp` is true
 *    (the default): HTTPS with verification, falling back to plain HTTP when the port does not
 *    speak TLS. A loopback registry that does speak TLS must present a certificate that verifies.
 *  - `--tls-verify=true` forces verified HTTPS even for loopback.
 */
import { formatReference, normalizeForStore, parseReference, DEFAULT_TAG } from '../reference.js';
import type { RegistriesConfig } from './config.js';
import { RegistryError } from './errors.js';

export interface Target {
  /** The registry as named in references (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** host[:port] to connect to (`registry-1.docker.io` for Docker Hub). */
  endpoint: string;
  /** Repository path on the registry. */
  repository: string;
  tag?: string;
  digest?: string;
  /** The name the image is stored under locally (`registry/repo:tag`), when the reference has a tag. */
  storeName?: string;
}

export interface Transport {
  /** Verify the server certificate. */
  verify: boolean;
  /** Plain HTTP may be used when HTTPS fails at the TLS level. */
  allowHttp: boolean;
}

export function resolveTarget(input: string, cfg: Pick<RegistriesConfig, 'defaultRegistry'>): Target {
  let ref = parseReference(input);
  if (!ref.host) {
    if (!cfg.defaultRegistry) {
      throw new RegistryError(
        'REGISTRY_NO_DEFAULT',
        `${JSON.stringify(input)} names no registry, and no default registry is configured`,
        {
          hint: 'use a full reference (host[:port]/name[:tag]) or set "defaultRegistry" in ~/.config/moat/registries.json',
        },
      );
    }
    ref = { ...ref, host: cfg.defaultRegistry };
  }
  // Canonical spelling (docker.io/library/…), keeping the digest aside.
  const canon = parseReference(
    normalizeForStore({ ...ref, digest: undefined, tag: ref.tag ?? DEFAULT_TAG }, 'local'),
  );
  const registry = canon.host!;
  const t: Target = {
    registry,
    endpoint: registry === 'docker.io' ? 'registry-1.docker.io' : registry,
    repository: canon.path,
  };
  if (ref.tag || !ref.digest) t.tag = ref.tag ?? DEFAULT_TAG;
  if (ref.digest) t.digest = ref.digest;
  if (t.tag) t.storeName = formatReference({ host: registry, path: canon.path, tag: t.tag });
  return t;
}

/** What the manifest endpoint is asked for: the digest when there is one (it is what we verify). */
export function manifestReference(t: Target): string {
  return t.digest ?? t.tag ?? DEFAULT_TAG;
}

export function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon >= 0 && hostPort.indexOf(':') === colon ? hostPort.slice(0, colon) : hostPort;
}

export function isLoopback(hostPort: string): boolean {
  const h = hostOnly(hostPort).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function transportFor(
  hostPort: string,
  cfg: Pick<RegistriesConfig, 'insecure' | 'registries' | 'allowLoopbackHttp'>,
  tlsVerify?: boolean,
): Transport {
  if (tlsVerify === true) return { verify: true, allowHttp: false };
  if (tlsVerify === false) return { verify: false, allowHttp: true };
  if (cfg.insecure.includes(hostPort) || cfg.registries[hostPort]?.insecure)
    return { verify: false, allowHttp: true };
  if (cfg.allowLoopbackHttp && isLoopback(hostPort)) return { verify: true, allowHttp: true };
  return { verify: true, allowHttp: false };
}

/** `host` or `host:port` for URLs (IPv6 already bracketed in references). */
export function baseUrl(scheme: 'https' | 'http', endpoint: string): string {
  return `${scheme}://${endpoint}`;
}
