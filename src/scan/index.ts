import type { Readable } from 'node:stream';
import { sha256Digest } from '../image/digest.js';
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { resolveLimits, type ScanLimits } from './defaults.js';
import { ScanCache, type ScanCacheOptions } from './layers/cache.js';
import type { FileKeeper, LayerScan } from './layers/layer-scan.js';
import { MergedFs } from './layers/merge.js';
import { walkLayer, type LayerRef, type WalkTotals } from './layers/walk.js';
import {
  OS_RELEASE_MAX_BYTES,
  OS_RELEASE_PATHS,
  parseOsRelease,
  wantsOsRelease,
} from './packages/os-release.js';
import { PACKAGE_PARSERS } from './parsers.js';
import { configFindings } from './rules/config.js';
import { tooManyLayersHazard } from './rules/hazards.js';
import { ACCOUNT_KEEPER, permissionFindings } from './rules/permissions.js';
import { SECRET_RULES } from './rules/secret-rules.js';
import { secretAllowFilter, secretScanner, type SecretOptions } from './rules/secrets.js';
import type { Finding, Package, PackageParser } from './types.js';
import { SCANNER_VERSION } from './version.js';

/**
 * The scan room's public face: scanImage reads each layer of a stored image once (or its cached
 * result), merges them into the image's filesystem, and returns the findings of every rule and the
 * packages the inventories find. Vulnerability matching (src/scan/vuln) runs on `packages`.
 */

export { DEFAULTS, type ScanLimits } from './defaults.js';
export { MergedFs } from './layers/merge.js';
export type { LayerScan } from './layers/layer-scan.js';
export type { SecretAllow, SecretOptions } from './rules/secrets.js';
export { PACKAGE_PARSERS } from './parsers.js';

export { SCANNER_VERSION } from './version.js';

export interface ScanOptions {
  /** Overrides of DEFAULTS.limits. */
  limits?: Partial<ScanLimits>;
  /** Allow-list for secret findings. */
  secrets?: SecretOptions;
  /** Package parsers (default PACKAGE_PARSERS). */
  parsers?: readonly PackageParser[];
  /** Use the cache under the store root (default true); false neither reads nor writes it. */
  cache?: boolean | ScanCacheOptions;
  /** How to open a layer as an uncompressed tar (tests, benchmarks); default: the store's blob. */
  open?: (layer: LayerRef) => Readable;
}

export interface LayerSummary {
  digest: string;
  /** The layer's result came from the cache (its blob was not read). */
  cached: boolean;
  entries: number;
  /** Uncompressed bytes read (when it was read). */
  bytes: number;
  /** False when a limit stopped reading the layer. */
  complete: boolean;
}

export interface ScanResult {
  image: { id: string; manifestDigest: string };
  scanner: string;
  findings: Finding[];
  packages: Package[];
  layers: LayerSummary[];
  /** The distribution from os-release, when there is one. */
  distro?: { id: string; version: string };
  /** What could not be read or parsed, and why (never file contents). */
  notes: string[];
  /** The whole result came from the image cache. */
  cached: boolean;
}

const OS_RELEASE_KEEPER: FileKeeper = {
  name: 'os-release',
  wants: wantsOsRelease,
  maxBytes: OS_RELEASE_MAX_BYTES,
};

const RULES_HASH = sha256Digest(
  JSON.stringify(SECRET_RULES, (_k, v: unknown) => (v instanceof RegExp ? `${v.source}/${v.flags}` : v)),
).slice(7, 23);

function cacheOf(store: ImageStore, opt: ScanOptions['cache']): ScanCache | undefined {
  if (opt === false) return undefined;
  return new ScanCache(store.root, typeof opt === 'object' ? opt : {});
}

/** The key a layer's cached scan is valid for: scanner and rule versions, limits, retained files. */
function layerKey(limits: ScanLimits, keepers: readonly FileKeeper[]): string {
  return JSON.stringify({
    scanner: SCANNER_VERSION,
    rules: RULES_HASH,
    limits,
    keepers: keepers.map((k) => [k.name, k.version ?? 0, k.maxBytes]),
  });
}

export interface ImageLayers {
  scans: LayerScan[];
  layers: LayerSummary[];
}

/** Each layer's scan, bottom first, from the cache or by reading its blob (and caching it). */
export async function readImageLayers(
  store: ImageStore,
  record: ImageRecord,
  opts: ScanOptions = {},
): Promise<ImageLayers> {
  const limits = resolveLimits(opts.limits);
  const keepers = keepersOf(opts.parsers ?? PACKAGE_PARSERS);
  const key = layerKey(limits, keepers);
  const cache = cacheOf(store, opts.cache);
  const scanners = [secretScanner(Math.min(limits.secretMaxFileBytes, limits.maxFileBytes))];
  const totals: WalkTotals = { entries: 0, bytes: 0 };
  const retain = { left: limits.maxRetainedBytes };
  const scans: LayerScan[] = [];
  const layers: LayerSummary[] = [];
  for (const l of record.layers) {
    let scan = await cache?.getLayer(l.digest, key);
    const cached = scan !== undefined;
    if (scan) {
      totals.entries += scan.entries;
      totals.bytes += scan.bytes;
      retain.left -= scan.kept.reduce((n, k) => n + k.data.length, 0);
    } else {
      scan = await walkLayer(
        { digest: l.digest, size: l.size, mediaType: l.mediaType },
        { scanners, keepers, limits, totals, retain, open: opts.open },
        store,
      );
      // A layer cut short by the image's totals would read differently in another image.
      const imageScoped =
        scan.stopped !== undefined && scan.stopped.kind !== 'bomb' && scan.stopped.scope === 'image';
      if (cache && !imageScoped) await cache.putLayer(scan, key);
    }
    scans.push(scan);
    layers.push({
      digest: l.digest,
      cached,
      entries: scan.entries,
      bytes: scan.bytes,
      complete: scan.complete,
    });
  }
  return { scans, layers };
}

/** The merged filesystem of layer scans (bottom first), with the hazards only merging shows. */
export function mergeLayers(scans: readonly LayerScan[]): { fs: MergedFs; findings: Finding[] } {
  const fs = new MergedFs();
  const findings: Finding[] = [];
  for (const s of scans) findings.push(...fs.apply(s));
  return { fs, findings };
}

function keepersOf(parsers: readonly PackageParser[]): FileKeeper[] {
  return [ACCOUNT_KEEPER, OS_RELEASE_KEEPER, ...parsers];
}

/** The packages every parser finds in the merged filesystem. */
export function inventory(
  fs: MergedFs,
  parsers: readonly PackageParser[],
  notes: string[],
): { packages: Package[]; distro?: { id: string; version: string } } {
  const osRelease = OS_RELEASE_PATHS.map((p) => fs.content(p)).find((c) => c !== undefined);
  const distro = osRelease ? parseOsRelease(osRelease) : undefined;
  const packages: Package[] = [];
  for (const f of fs.files()) {
    for (const p of parsers) {
      if (!p.wants(f.path, f.entry)) continue;
      try {
        packages.push(
          ...p.parse(f.content, f.path, {
            layer: f.entry.layer,
            layerIndex: f.entry.layerIndex,
            ...(distro ? { distro } : {}),
            history: f.history,
            file: (path) => fs.content(path),
            notes,
          }),
        );
      } catch (e) {
        notes.push(`${p.name}: ${f.path}: not parsed (${(e as Error)?.message ?? String(e)})`);
      }
    }
  }
  return { packages, ...(distro ? { distro } : {}) };
}

/**
 * Scan a stored image: hazards, permissions, secrets and configuration findings, and the package
 * inventory of its merged filesystem. A re-scan of the same image with the same options is one
 * cache lookup; an image sharing layers with one scanned before reads only its new layers.
 */
export async function scanImage(
  store: ImageStore,
  record: ImageRecord,
  opts: ScanOptions = {},
): Promise<ScanResult> {
  const limits = resolveLimits(opts.limits);
  const parsers = opts.parsers ?? PACKAGE_PARSERS;
  const cache = cacheOf(store, opts.cache);
  const imageKey = JSON.stringify({
    layers: layerKey(limits, keepersOf(parsers)),
    manifest: record.manifestDigest,
    secrets: opts.secrets ?? {},
  });
  const hit = await cache?.getImage<ScanResult>(imageKey);
  if (hit) return { ...hit, cached: true, layers: hit.layers.map((l) => ({ ...l, cached: true })) };

  const config = await store.config(record);
  const { scans, layers } = await readImageLayers(store, record, opts);
  const { fs, findings: mergeFindings } = mergeLayers(scans);
  const notes = scans.flatMap((s) => s.notes);
  const { packages, distro } = inventory(fs, parsers, notes);
  const allowed = secretAllowFilter(opts.secrets);
  const findings = [
    ...(record.layers.length > limits.maxLayers
      ? [tooManyLayersHazard(record.layers.length, limits.maxLayers)]
      : []),
    ...configFindings(config),
    ...scans.flatMap((s) => s.findings),
    ...mergeFindings,
    ...permissionFindings(fs),
  ].filter(allowed);
  const result: ScanResult = {
    image: { id: record.id, manifestDigest: record.manifestDigest },
    scanner: SCANNER_VERSION,
    findings,
    packages,
    layers,
    ...(distro ? { distro } : {}),
    notes,
    cached: false,
  };
  if (cache) await cache.putImage(imageKey, result);
  return result;
}
