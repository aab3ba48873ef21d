import { classifyWhiteout } from '../../image/whiteout.js';
import type { ScanLimits } from '../defaults.js';
import {
  badWhiteoutHazard,
  duplicateHazard,
  entryHazards,
  nameHazards,
  stopHazard,
  type StopReason,
} from '../rules/hazards.js';
import type { Finding, LayerEntry } from '../types.js';
import { entryType, joinPath, leafOf, normalizeEntryName, parentOf } from './entry.js';

/**
 * What one layer says, as the walker accumulates it from the tar stream: the pure core of the
 * walk (walk.ts feeds it; tests can feed it headers and bytes directly). The result, LayerScan,
 * depends on the layer's bytes and the scanner version only, so it is what the cache stores.
 */

/** A scanner run while a layer is read. */
export interface LayerScanner {
  readonly name: string;
  /** Every entry that names a path in the image (whiteouts excluded), in tar order. */
  entry?(e: LayerEntry): Finding[];
  /** Regular files whose content this scanner reads (at most `maxBytes` of each). */
  wants?(e: LayerEntry): boolean;
  readonly maxBytes?: number;
  /** The first bytes (up to 8000): false to stop reading for this scanner (a binary file). */
  accept?(head: Buffer): boolean;
  content?(e: LayerEntry, data: Buffer, truncated: boolean): Finding[];
}

/** Files the merged view retains (package databases, /etc/passwd): see PackageParser. */
export interface FileKeeper {
  readonly name: string;
  /** Bumped when what it retains changes (part of the cache key). */
  readonly version?: number;
  wants(path: string, entry: LayerEntry): boolean;
  readonly maxBytes: number;
  readonly sniff?: { bytes: number; test(head: Buffer): boolean };
  extract?(content: Buffer, path: string): Buffer | undefined;
}

/** An entry as stored in a LayerScan (the merged view adds the layer and its index). */
export type StoredEntry = Omit<LayerEntry, 'layer' | 'layerIndex'>;

export interface KeptFile {
  path: string;
  data: Buffer;
}

export interface LayerScan {
  digest: string;
  /** Tar entries read (all of them, whiteouts and hostile names included). */
  entries: number;
  /** Uncompressed bytes read. */
  bytes: number;
  /** False when a limit stopped the read: what follows in the layer was not seen. */
  complete: boolean;
  /** Which limit stopped it. */
  stopped?: StopReason;
  /** Layer-local findings (hazards, secrets). */
  findings: Finding[];
  /** Entries naming paths in the image, in tar order (a later one of the same path wins). */
  table: StoredEntry[];
  /** Paths this layer deletes from the layers below (`.wh.NAME`). */
  whiteouts: string[];
  /** Directories whose lower contents this layer hides (`.wh..wh..opq`). */
  opaques: string[];
  kept: KeptFile[];
  /** What could not be read, and why (never file contents). */
  notes: string[];
}

export interface TarHeader {
  name: string;
  type?: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  linkname?: string | null;
}

/** Who reads the content of one entry, and how much. */
export interface ContentPlan {
  entry: LayerEntry;
  scanners: LayerScanner[];
  keepers: FileKeeper[];
  /** Bytes to buffer at most. */
  cap: number;
  /** Bytes to have before the accept/sniff checks run. */
  head: number;
}

const HEAD = 8000;

export class LayerAccumulator {
  private readonly findings: Finding[] = [];
  private readonly table: StoredEntry[] = [];
  private readonly whiteouts: string[] = [];
  private readonly opaques: string[] = [];
  private readonly seen = new Map<string, LayerEntry['type']>();
  private readonly kept = new Map<string, Buffer>();
  private readonly notes: string[] = [];
  count = 0;

  constructor(
    readonly digest: string,
    private readonly scanners: readonly LayerScanner[],
    private readonly keepers: readonly FileKeeper[],
    private readonly limits: ScanLimits,
    /** Bytes the image may still retain (shared by its layers). */
    private readonly retain: { left: number },
  ) {}

  /** One tar entry; returns who wants its content, if anyone. */
  add(h: TarHeader): ContentPlan | undefined {
    this.count++;
    const name = normalizeEntryName(h.name);
    this.findings.push(...nameHazards(h.name, name, this.digest));
    if (name.traversal || name.path === '') return undefined;
    const leaf = leafOf(name.path);
    if (leaf.startsWith('.wh.')) {
      this.whiteout(h.name, name.path);
      return undefined;
    }
    const entry: LayerEntry = {
      path: name.path,
      type: entryType(h.type),
      mode: (h.mode ?? 0) & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      size: h.size ?? 0,
      ...(h.linkname ? { linkname: h.linkname } : {}),
      layer: this.digest,
      layerIndex: -1,
    };
    const earlier = this.seen.get(entry.path);
    if (earlier !== undefined) {
      const dup = duplicateHazard(entry, earlier);
      if (dup) this.findings.push(dup);
    }
    this.seen.set(entry.path, entry.type);
    this.kept.delete(entry.path);
    const { layer: _l, layerIndex: _i, ...stored } = entry;
    this.table.push(stored);
    this.findings.push(...entryHazards(entry));
    for (const s of this.scanners) if (s.entry) this.findings.push(...s.entry(entry));

    if (entry.type === 'hardlink') this.keepHardlink(entry);
    if (entry.type !== 'file' || entry.size === 0) return undefined;
    const scanners = this.scanners.filter((s) => s.content && s.wants?.(entry));
    const keepers = this.keepers.filter((k) => {
      if (!k.wants(entry.path, entry)) return false;
      if (entry.size > Math.min(k.maxBytes, this.limits.maxFileBytes)) {
        this.notes.push(
          `${k.name}: ${entry.path}: ${entry.size} bytes, over the ${k.maxBytes}-byte limit; not read`,
        );
        return false;
      }
      return true;
    });
    if (scanners.length === 0 && keepers.length === 0) return undefined;
    const cap = Math.min(
      this.limits.maxFileBytes,
      Math.max(...scanners.map((s) => s.maxBytes ?? 0), ...keepers.map((k) => k.maxBytes)),
    );
    const head = Math.max(
      scanners.some((s) => s.accept) ? HEAD : 0,
      ...keepers.map((k) => k.sniff?.bytes ?? 0),
    );
    return { entry, scanners, keepers, cap, head: Math.min(head, entry.size) };
  }

  /** The first `plan.head` bytes: drop the scanners and keepers that do not want the rest. */
  sniff(plan: ContentPlan, head: Buffer): ContentPlan {
    return {
      ...plan,
      scanners: plan.scanners.filter((s) => !s.accept || s.accept(head.subarray(0, HEAD))),
      keepers: plan.keepers.filter((k) => !k.sniff || k.sniff.test(head.subarray(0, k.sniff.bytes))),
    };
  }

  /** The content of a planned entry (`truncated`: the file is longer than `data`). */
  content(plan: ContentPlan, data: Buffer, truncated: boolean): void {
    const e = plan.entry;
    for (const s of plan.scanners) {
      const max = s.maxBytes ?? data.length;
      this.findings.push(
        ...s.content!(e, data.length > max ? data.subarray(0, max) : data, truncated || data.length > max),
      );
    }
    for (const k of plan.keepers) {
      if (truncated) continue;
      const kept = k.extract ? k.extract(data, e.path) : data;
      if (kept) this.keep(e.path, kept);
    }
  }

  finish(bytes: number, stop?: StopReason): LayerScan {
    if (stop) this.findings.push(stopHazard(stop, this.digest));
    return {
      digest: this.digest,
      entries: this.count,
      bytes,
      complete: stop === undefined,
      ...(stop ? { stopped: stop } : {}),
      findings: capFindings(this.findings, this.limits.maxFindingsPerRule),
      table: this.table,
      whiteouts: this.whiteouts,
      opaques: this.opaques,
      kept: [...this.kept].map(([path, data]) => ({ path, data })),
      notes: this.notes,
    };
  }

  private whiteout(raw: string, path: string): void {
    let wo;
    try {
      wo = classifyWhiteout(leafOf(path));
    } catch {
      this.findings.push(badWhiteoutHazard(raw, this.digest));
      return;
    }
    if (wo.kind === 'opaque') this.opaques.push(parentOf(path));
    else if (wo.kind === 'remove') this.whiteouts.push(joinPath(parentOf(path), wo.name));
  }

  private keep(path: string, data: Buffer): void {
    if (data.length > this.retain.left) {
      this.notes.push(`${path}: not retained, the image's retained files are over their limit`);
      return;
    }
    this.retain.left -= data.length;
    // A copy: `data` may be a slice of a larger buffer the walker reuses.
    this.kept.set(path, Buffer.from(data));
  }

  /** A hard link to a file this layer retained is retained under its own name too. */
  private keepHardlink(e: LayerEntry): void {
    const target = normalizeEntryName(e.linkname ?? '');
    const data = target.traversal ? undefined : this.kept.get(target.path);
    if (data && this.keepers.some((k) => k.wants(e.path, { ...e, type: 'file', size: data.length }))) {
      this.kept.set(e.path, data);
    }
  }
}

/** At most `max` findings per rule; the rest counted in one last finding of the rule. */
export function capFindings(findings: Finding[], max: number): Finding[] {
  const per = new Map<string, number>();
  const out: Finding[] = [];
  const over = new Map<string, Finding>();
  for (const f of findings) {
    const n = (per.get(f.rule) ?? 0) + 1;
    per.set(f.rule, n);
    if (n <= max) out.push(f);
    else if (!over.has(f.rule)) over.set(f.rule, f);
  }
  for (const [rule, f] of over) {
    const more = per.get(rule)! - max;
    out.push({
      kind: f.kind,
      rule,
      severity: f.severity,
      title: `${more} more findings of ${rule} (not listed)`,
      ...(f.layer !== undefined ? { layer: f.layer } : {}),
      detail: `${more} more`,
    });
  }
  return out;
}
