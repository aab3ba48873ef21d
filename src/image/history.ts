/**
 * `history`: an image's config history as docker lists it, newest first. Each entry that made a
 * layer (not `empty_layer`) takes the next layer from the bottom, with its size; the newest
 * entry carries the image's ID and names, the others `<missing>` (moat keeps no parent images).
 * Sizes are the layers' as stored (compressed): moat does not keep their unpacked size.
 */
import type { ImageConfig, ImageRecord } from './types.js';

export interface HistoryRow {
  /** The image ID on the newest row, else `<missing>`. */
  id: string;
  /** ISO 8601; '' when the entry has none. */
  created: string;
  createdBy: string;
  /** Bytes of the layer it made (as stored), 0 for an entry that made none. */
  size: number;
  comment: string;
  /** The image's names, on the newest row. */
  tags: string[];
  emptyLayer: boolean;
}

export const MISSING = '<missing>';

export function historyRows(image: ImageRecord, config: ImageConfig): HistoryRow[] {
  const entries =
    config.history && config.history.length > 0
      ? config.history
      : // No history recorded: one row per layer, as podman shows such images.
        image.layers.map(() => ({ created: config.created, created_by: '' }));
  let layer = 0;
  const rows: HistoryRow[] = [];
  for (const h of entries) {
    const empty = 'empty_layer' in h && h.empty_layer === true;
    const size = !empty && layer < image.layers.length ? image.layers[layer++].size : 0;
    rows.push({
      id: MISSING,
      created: h.created ?? '',
      createdBy: h.created_by ?? '',
      size,
      comment: ('comment' in h ? h.comment : undefined) ?? '',
      tags: [],
      emptyLayer: empty,
    });
  }
  rows.reverse();
  if (rows.length > 0) {
    rows[0].id = image.id;
    rows[0].tags = [...image.names];
  }
  return rows;
}
