/**
 * `facts.image.scan`: the scan summary recorded for the image under the scan setting in force
 * (src/scan/record.ts) — never computed here: facts are reads, and scanning happens in
 * `image.scan` (which run and create ask for first, see scan-routes.ts). Absent when the image
 * has no report under the current setting; the default policy then refuses a run only when a
 * scan threshold is set.
 */
import type { ImageRecord } from '../image/types.js';
import type { Engine } from '../runtime/engine.js';
import { scanConfig } from '../scan/config.js';
import type { ScanSummary } from '../scan/report/types.js';
import { recordedScan, scanSummaryFacts } from '../scan/service.js';

export function imageScanFacts(engine: Engine, rec: ImageRecord): ScanSummary | undefined {
  try {
    return scanSummaryFacts(recordedScan(engine.deps.images.root, rec, scanConfig()));
  } catch {
    // A record or configuration that cannot be read is no record: a scan threshold then refuses
    // the run ("not scanned"), and run/create have already reported a broken configuration.
    return undefined;
  }
}
