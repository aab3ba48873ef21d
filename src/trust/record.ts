/**
 * Verification results recorded with the image, so that a run reads a decision instead of making
 * one: `<store>/trust/<manifest hex>.json`, one entry per (trust policy digest, reference
 * verified). The reference is part of the key because signedIdentity depends on the name: the
 * same digest verified as `reg/a:1` says nothing about running it as `reg/b:1`. A trust policy
 * edit changes its digest, so older entries stop matching (and are dropped when the file is next
 * written). Rejections are recorded too (`moat verify` shows why), never read as acceptance.
 *
 * Records live as long as the image: TrustRecords is one of the image store's DigestRecords
 * (runtime/context.ts), so `rmi`, `image prune` and a pull replacing the image's manifest remove
 * them before images.json stops naming it, and `image fsck`/`prune` find those of no image (a
 * verification recorded after its image was removed, or by a moat before this rule).
 */
import { mkdirSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { digestHex } from '../image/digest.js';
import type { DigestRecords } from '../image/store-db.js';
import { readdirOrEmpty, writeFileAtomic } from '../util/fsutil.js';
import { readBounded } from './policy/load.js';
import type { TrustResult } from './verify.js';

/** Entries kept per image (other references, other policies). */
const MAX_ENTRIES = 32;
const MAX_FILE_BYTES = 4 << 20;

interface RecordFile {
  format: 'moat-trust-1';
  entries: TrustResult[];
}

/** A file of the records directory: a record, or its temp file while written (writeFileAtomic). */
const RECORD_FILE = /^\.?([0-9a-f]{64})\.json(?:\.tmp-[0-9a-f]+)?$/;

export class TrustRecords implements DigestRecords {
  readonly kind = 'trust';

  constructor(private readonly storeRoot: string) {}

  private get dir(): string {
    return path.join(this.storeRoot, 'trust');
  }

  private file(manifestDigest: string): string {
    return path.join(this.dir, `${digestHex(manifestDigest)}.json`);
  }

  private read(manifestDigest: string): TrustResult[] {
    try {
      const b = readBounded(this.file(manifestDigest), MAX_FILE_BYTES);
      if (!b) return [];
      const f = JSON.parse(b.toString('utf8')) as RecordFile;
      return f.format === 'moat-trust-1' && Array.isArray(f.entries) ? f.entries : [];
    } catch {
      return []; // unreadable or damaged: as if never verified (verify again)
    }
  }

  /** The recorded result for this image under this policy and name, if any. */
  get(manifestDigest: string, policyDigest: string, reference: string): TrustResult | undefined {
    return this.read(manifestDigest).find(
      (e) => e.policy.digest === policyDigest && e.reference === reference,
    );
  }

  /** Every result recorded for the image under this policy (any name). */
  all(manifestDigest: string, policyDigest: string): TrustResult[] {
    return this.read(manifestDigest).filter((e) => e.policy.digest === policyDigest);
  }

  /** Records `r` for the image stored under `manifestDigest` (replacing the same policy and name). */
  async put(manifestDigest: string, r: TrustResult): Promise<void> {
    const keep = this.read(manifestDigest).filter(
      (e) => !(e.policy.digest === r.policy.digest && e.reference === r.reference),
    );
    const entries = [r, ...keep].slice(0, MAX_ENTRIES);
    mkdirSync(path.dirname(this.file(manifestDigest)), { recursive: true, mode: 0o700 });
    await writeFileAtomic(
      this.file(manifestDigest),
      JSON.stringify({ format: 'moat-trust-1', entries } satisfies RecordFile),
    );
  }

  private async names(): Promise<string[]> {
    return readdirOrEmpty(this.dir);
  }

  /** Manifest digests with a record file (a write in progress included). */
  async digests(): Promise<string[]> {
    const found = new Set<string>();
    for (const n of await this.names()) {
      const m = RECORD_FILE.exec(n);
      if (m) found.add(`sha256:${m[1]}`);
    }
    return [...found];
  }

  /**
   * Delete the image's record: the file a reader reads first (from then on it finds none), then
   * temp files of writes that did not finish.
   */
  async remove(manifestDigest: string): Promise<void> {
    const hex = digestHex(manifestDigest);
    await fsp.rm(this.file(manifestDigest), { force: true });
    for (const n of await this.names()) {
      if (RECORD_FILE.exec(n)?.[1] === hex) await fsp.rm(path.join(this.dir, n), { force: true });
    }
  }
}
