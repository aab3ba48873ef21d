/**
 * Registry configuration: `$XDG_CONFIG_HOME/moat/registries.json` (default `~/.config/moat`).
 * Every field is optional; defaults are filled once, here.
 *
 *   {
 *     "defaultRegistry": "registry.example.com",      // short names (`alpine`) pull from here;
 *                                                     // unset: short names are an error
 *     "insecure": ["build-host:5000"],               // plain HTTP / unverified TLS allowed
 *     "allowLoopbackHttp": true,                      // 127.0.0.0/8, ::1, localhost may use HTTP
 *     "registries": { "reg.corp:443": { "caFile": "/etc/corp-ca.pem", "insecure": false } },
 *     "limits": { "maxLayers": 128, "maxLayerBytes": 8589934592, "maxImageBytes": 34359738368 },
 *     "concurrency": 3,
 *     "chunkSize": 0,                                 // push: bytes per PATCH; 0 = monolithic PUT
 *     "timeouts": { "connectMs": 30000, "headersMs": 60000, "bodyIdleMs": 60000 }
 *   }
 */
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { errnoCode } from '../../errors.js';
import { lazyValidator } from '../../util/schema.js';
import { RegistryError } from './errors.js';

export interface RegistryLimits {
  maxLayers: number;
  maxLayerBytes: number;
  maxImageBytes: number;
}

export interface RegistryTimeouts {
  connectMs: number;
  headersMs: number;
  bodyIdleMs: number;
}

export interface PerRegistry {
  insecure?: boolean;
  caFile?: string;
}

export interface RegistriesConfig {
  defaultRegistry?: string;
  insecure: string[];
  allowLoopbackHttp: boolean;
  registries: Record<string, PerRegistry>;
  limits: RegistryLimits;
  concurrency: number;
  chunkSize: number;
  timeouts: RegistryTimeouts;
  /** Directories searched for `<host[:port]>/ca.crt`, `*.crt`, `*.cert` + `*.key`. */
  certsDirs: string[];
  /** Where `moat login` writes and moat reads first. */
  authFile: string;
  /** Docker's config.json, read (never written) for credentials. */
  dockerConfig: string;
}

export const DEFAULTS = {
  allowLoopbackHttp: true,
  limits: { maxLayers: 128, maxLayerBytes: 8 * 2 ** 30, maxImageBytes: 32 * 2 ** 30 },
  concurrency: 3,
  chunkSize: 0,
  timeouts: { connectMs: 30_000, headersMs: 60_000, bodyIdleMs: 60_000 },
} as const;

const posInt = { type: 'integer', minimum: 1 };
const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaultRegistry: { type: 'string', minLength: 1, maxLength: 255 },
    insecure: { type: 'array', items: { type: 'string', minLength: 1 } },
    allowLoopbackHttp: { type: 'boolean' },
    registries: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { insecure: { type: 'boolean' }, caFile: { type: 'string', minLength: 1 } },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: { maxLayers: posInt, maxLayerBytes: posInt, maxImageBytes: posInt },
    },
    concurrency: { type: 'integer', minimum: 1, maximum: 32 },
    chunkSize: { type: 'integer', minimum: 0 },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: { connectMs: posInt, headersMs: posInt, bodyIdleMs: posInt },
    },
  },
};
const validate = lazyValidator('registry:config', schema, { allErrors: false });

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'moat');
}

/** Fill defaults into a parsed (already validated) file. Pure. */
export function withDefaults(
  file: Partial<Omit<RegistriesConfig, 'certsDirs' | 'authFile' | 'dockerConfig'>>,
  env: NodeJS.ProcessEnv = process.env,
): RegistriesConfig {
  const dir = configDir(env);
  const home = env.HOME || homedir();
  return {
    defaultRegistry: file.defaultRegistry,
    insecure: file.insecure ?? [],
    allowLoopbackHttp: file.allowLoopbackHttp ?? DEFAULTS.allowLoopbackHttp,
    registries: file.registries ?? {},
    limits: { ...DEFAULTS.limits, ...file.limits },
    concurrency: file.concurrency ?? DEFAULTS.concurrency,
    chunkSize: file.chunkSize ?? DEFAULTS.chunkSize,
    timeouts: { ...DEFAULTS.timeouts, ...file.timeouts },
    certsDirs: [path.join(dir, 'certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'],
    authFile:
      env.MOAT_AUTH_FILE && path.isAbsolute(env.MOAT_AUTH_FILE)
        ? env.MOAT_AUTH_FILE
        : path.join(dir, 'auth.json'),
    dockerConfig: path.join(
      env.DOCKER_CONFIG && path.isAbsolute(env.DOCKER_CONFIG)
        ? env.DOCKER_CONFIG
        : path.join(home, '.docker'),
      'config.json',
    ),
  };
}

export async function loadRegistriesConfig(env: NodeJS.ProcessEnv = process.env): Promise<RegistriesConfig> {
  const file = path.join(configDir(env), 'registries.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return withDefaults({}, env);
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RegistryError('REGISTRY_CONFIG_INVALID', `${file} is not valid JSON: ${(e as Error).message}`, {
      hint: 'fix the file (see docs/registry.md)',
    });
  }
  if (!validate(value)) {
    const e = validate.errors?.[0];
    throw new RegistryError(
      'REGISTRY_CONFIG_INVALID',
      `${file}: ${e ? `${e.instancePath || '(root)'} ${e.message ?? ''}` : 'invalid'}`,
      { hint: 'see docs/registry.md for the fields' },
    );
  }
  return withDefaults(value as Partial<RegistriesConfig>, env);
}
