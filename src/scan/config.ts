/**
 * Where a scan's vulnerability database and VEX documents come from, when the request names none
 * (runs, `moat scan` without `--db`). First found wins:
 *
 *   1. `$MOAT_VULN_DB` (a path), `$MOAT_VEX` (paths separated by ':')
 *   2. `$MOAT_SCAN_CONFIG`, else `$XDG_CONFIG_HOME/moat/scan.json` (`~/.config/moat/scan.json`):
 *        { "db": "/srv/osv/debian.zip", "vex": ["/etc/moat/vex.json"],
 *          "secrets": { "allow": [{ "rule": "secret.jwt", "path": "srv/fixtures/**" }] } }
 *      relative paths are relative to the file's directory
 *   3. none: the report says no database was used (never a silent pass)
 *
 * Read synchronously and small (64 KiB cap): a run reads it on every request.
 */
import * as path from 'node:path';
import { configDir } from '../util/paths.js';
import { ScanError } from './errors.js';
import type { SecretOptions } from './rules/secrets.js';
import { configObject, readConfigText } from '../util/json-config.js';

export interface ScanConfig {
  db?: string;
  vex: string[];
  secrets?: SecretOptions;
  /** Where `db` came from, for reports. */
  from: 'request' | 'env' | 'file' | 'none';
}

const MAX_CONFIG_BYTES = 64 << 10;

export function scanConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.MOAT_SCAN_CONFIG || path.join(configDir(env), 'scan.json');
}

function invalid(file: string, why: string): never {
  throw new ScanError('SCAN_CONFIG_INVALID', `${file}: ${why}`);
}

function readFile(file: string): { db?: string; vex: string[]; secrets?: SecretOptions } | undefined {
  const text = readConfigText(file, MAX_CONFIG_BYTES, (why) => invalid(file, why));
  if (text === undefined) return undefined;
  const o = configObject(text, ['db', 'vex', 'secrets'], (why) => invalid(file, why));
  const dir = path.dirname(file);
  if (o.db !== undefined && (typeof o.db !== 'string' || !o.db)) invalid(file, '"db" must be a path');
  if (o.vex !== undefined && (!Array.isArray(o.vex) || o.vex.some((v) => typeof v !== 'string' || !v)))
    invalid(file, '"vex" must be a list of paths');
  if (o.secrets !== undefined && (typeof o.secrets !== 'object' || o.secrets === null))
    invalid(file, '"secrets" must be an object ({"allow": [{"rule", "path"}]})');
  return {
    ...(typeof o.db === 'string' ? { db: path.resolve(dir, o.db) } : {}),
    vex: ((o.vex as string[] | undefined) ?? []).map((v) => path.resolve(dir, v)),
    ...(o.secrets ? { secrets: o.secrets as SecretOptions } : {}),
  };
}

/** The database and VEX documents in force when a request names none. */
export function scanConfig(env: NodeJS.ProcessEnv = process.env): ScanConfig {
  const file = readFile(scanConfigFile(env));
  const envVex = (env.MOAT_VEX ?? '').split(':').filter(Boolean);
  const vex = envVex.length ? envVex.map((v) => path.resolve(v)) : (file?.vex ?? []);
  const secrets = file?.secrets ? { secrets: file.secrets } : {};
  if (env.MOAT_VULN_DB) return { db: path.resolve(env.MOAT_VULN_DB), vex, ...secrets, from: 'env' };
  if (file?.db) return { db: file.db, vex, ...secrets, from: 'file' };
  return { vex, ...secrets, from: 'none' };
}

/** A request's own db/vex (`moat scan --db`), else the configuration's. */
export function effectiveScanConfig(
  given: { db?: string; vex?: string[] },
  env: NodeJS.ProcessEnv = process.env,
): ScanConfig {
  const base = scanConfig(env);
  return {
    ...base,
    ...(given.db ? { db: path.resolve(given.db), from: 'request' as const } : {}),
    ...(given.vex?.length ? { vex: given.vex.map((v) => path.resolve(v)) } : {}),
  };
}
