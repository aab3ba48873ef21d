/**
 * Every default of the scan room, once. Limits bound what a hostile layer can make the scanner
 * do (read, hold in memory, write to the cache); each one is overridable through
 * ScanOptions.limits, and each one that is hit is reported as a finding, never silently.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface ScanLimits {
  /** More layers than this is reported as `hazard.too-many-layers` (all are still read). */
  maxLayers: number;
  /** Entries read from one layer; past it the layer is not read further (`hazard.too-many-entries`). */
  maxEntriesPerLayer: number;
  /** Entries read from the whole image; past it no layer is read further. */
  maxTotalEntries: number;
  /** Uncompressed bytes read from one layer (`hazard.too-many-bytes`). */
  maxLayerBytes: number;
  /** Uncompressed bytes read from the whole image. */
  maxTotalBytes: number;
  /**
   * Uncompressed / compressed size past which a layer is a decompression bomb
   * (`hazard.decompression-bomb`, reading stops). Real layers compress 2-10 times.
   */
  maxRatio: number;
  /** The ratio is only checked once this many uncompressed bytes were read from the layer. */
  bombMinBytes: number;
  /** No scanner or parser reads more than this of one file, whatever it asks. */
  maxFileBytes: number;
  /** Contents retained for package parsing (the merged view), per image. */
  maxRetainedBytes: number;
  /** Findings of one rule in one layer; more are counted in one last finding of the rule. */
  maxFindingsPerRule: number;
  /** Secrets: how much of each text file is searched. */
  secretMaxFileBytes: number;
}

export const DEFAULTS = {
  limits: {
    maxLayers: 256,
    maxEntriesPerLayer: 1_000_000,
    maxTotalEntries: 4_000_000,
    maxLayerBytes: 64 * GiB,
    maxTotalBytes: 128 * GiB,
    maxRatio: 200,
    bombMinBytes: 256 * MiB,
    maxFileBytes: 64 * MiB,
    maxRetainedBytes: 512 * MiB,
    maxFindingsPerRule: 500,
    secretMaxFileBytes: 1 * MiB,
  } satisfies ScanLimits as ScanLimits,
  cache: {
    /** A layer whose record would be larger is not cached (it is read again next time). */
    maxRecordBytes: 128 * MiB,
    /** The cache directory is trimmed (oldest first) to this size after each write. */
    maxTotalBytes: 2 * GiB,
  },
  /** Generic `password=`/`token=` assignments: minimum Shannon entropy (bits per character). */
  secretEntropy: 3.5,
  /** Symlinks followed when a scanner reads a file of the merged view. */
  maxSymlinkHops: 8,
} as const;

export function resolveLimits(given: Partial<ScanLimits> = {}): ScanLimits {
  const out = { ...DEFAULTS.limits };
  for (const [k, v] of Object.entries(given) as [keyof ScanLimits, number | undefined][]) {
    if (v !== undefined) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`scan limit ${k} must be a number >= 0`);
      out[k] = v;
    }
  }
  return out;
}
