/**
 * Trust for registry connections: the system bundle (`/etc/ssl/certs/ca-certificates.crt`, where
 * Debian keeps what `update-ca-certificates` made), or Node's bundled roots where there is none,
 * plus `NODE_EXTRA_CA_CERTS`; and per registry: `<certs.d>/<host[:port]>/*.crt` (CAs) and `*.cert` + `*.key` (a client
 * certificate), in the certs.d directories of the config (moat's own, then
 * `/etc/containers/certs.d`, `/etc/docker/certs.d`), plus `registries[host].caFile`.
 * One undici Agent per (host, verify) pair, cached for the process, with one TLS context made
 * when its first HTTPS connection opens: parsing the roots takes ~35 ms of CPU per ~140
 * certificates, which Node would otherwise spend again on every connection.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { RegistriesConfig } from './config.js';

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];
let systemCas: string[] | undefined;

function readIf(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function systemRoots(): string[] {
  if (systemCas) return systemCas;
  const bundle = SYSTEM_BUNDLES.map(readIf).find((x) => x !== undefined);
  const env = process.env.NODE_EXTRA_CA_CERTS ? readIf(process.env.NODE_EXTRA_CA_CERTS) : undefined;
  systemCas = [...(bundle !== undefined ? [bundle] : rootCertificates), ...(env ? [env] : [])];
  return systemCas;
}

export interface HostTrust {
  cas: string[];
  cert?: string;
  key?: string;
  /** Files that contributed, for messages. */
  files: string[];
}

/** The per-registry CA and client files for `hostPort`. */
export function hostTrust(
  hostPort: string,
  cfg: Pick<RegistriesConfig, 'certsDirs' | 'registries'>,
): HostTrust {
  const t: HostTrust = { cas: [], files: [] };
  // certs.d uses `host:port` directory names; the colon-less name is also tried for port 443.
  const names = [hostPort, hostPort.replace(/:443$/, '')];
  for (const dir of cfg.certsDirs) {
    for (const name of new Set(names)) {
      const d = path.join(dir, name);
      let entries: string[];
      try {
        entries = readdirSync(d).sort();
      } catch {
        continue;
      }
      for (const f of entries) {
        const full = path.join(d, f);
        if (f.endsWith('.crt')) {
          const pem = readIf(full);
          if (pem) {
            t.cas.push(pem);
            t.files.push(full);
          }
        } else if (f.endsWith('.cert') && !t.cert) {
          const key = readIf(path.join(d, f.slice(0, -'.cert'.length) + '.key'));
          const cert = readIf(full);
          if (cert && key) {
            t.cert = cert;
            t.key = key;
            t.files.push(full);
          }
        }
      }
    }
  }
  const caFile = cfg.registries[hostPort]?.caFile;
  if (caFile) {
    const pem = readIf(caFile);
    if (pem) {
      t.cas.push(pem);
      t.files.push(caFile);
    }
  }
  return t;
}

const agents = new Map<string, Agent>();

export function agentFor(
  hostPort: string,
  verify: boolean,
  cfg: Pick<RegistriesConfig, 'certsDirs' | 'registries' | 'timeouts'>,
): Agent {
  const key = `${hostPort}\n${verify}\n${cfg.timeouts.connectMs}`;
  let a = agents.get(key);
  if (!a) {
    const trust = hostTrust(hostPort, cfg);
    let context: SecureContext | undefined;
    let tls: buildConnector.connector | undefined;
    const plain = buildConnector({ timeout: cfg.timeouts.connectMs });
    a = new Agent({
      connect: (opts, cb) => {
        if (opts.protocol !== 'https:') return plain(opts, cb);
        if (!tls) {
          try {
            // Without verification the roots are never consulted: do not parse them.
            context ??= createSecureContext({
              ...(verify ? { ca: [...systemRoots(), ...trust.cas] } : {}),
              ...(trust.cert ? { cert: trust.cert, key: trust.key } : {}),
            });
          } catch (e) {
            return cb(e as Error, null);
          }
          tls = buildConnector({
            secureContext: context,
            rejectUnauthorized: verify,
            timeout: cfg.timeouts.connectMs,
          });
        }
        return tls(opts, cb);
      },
      headersTimeout: cfg.timeouts.headersMs,
      bodyTimeout: cfg.timeouts.bodyIdleMs,
      connections: 8,
    });
    agents.set(key, a);
  }
  return a;
}

/** Close every cached agent (tests, and the CLI before exit so sockets do not hold the loop). */
export async function closeAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close().catch(() => {})));
}
