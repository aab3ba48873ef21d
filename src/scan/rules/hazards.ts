import { symlinkEscapes } from '../../image/unpack-path.js';
import type { EntryName } from '../layers/entry.js';
import { normalizeEntryName, parentOf } from '../layers/entry.js';
import type { Finding, LayerEntry, Severity } from '../types.js';

/**
 * Layer hazards: tar entries that would write or link outside the root when unpacked naively,
 * special files a container has no business shipping, and layers built to exhaust the reader.
 * Pure functions from what the walker saw to findings; the walker decides when to call them.
 */

export const HAZARD_RULES = {
  'hazard.path-traversal': { severity: 'critical', description: 'entry name with a `..` component' },
  'hazard.absolute-path': { severity: 'high', description: 'entry name with an absolute path' },
  'hazard.link-escape': { severity: 'high', description: 'link that points outside the root' },
  'hazard.device-node': { severity: 'high', description: 'character or block device node' },
  'hazard.fifo': { severity: 'low', description: 'named pipe (FIFO)' },
  'hazard.bad-whiteout': { severity: 'high', description: 'whiteout naming `.`, `..` or nothing' },
  'hazard.whiteout-missing': { severity: 'low', description: 'whiteout of a path no lower layer had' },
  'hazard.duplicate-entry': {
    severity: 'medium',
    description: 'entry shadowing an earlier one of the same layer',
  },
  'hazard.decompression-bomb': {
    severity: 'high',
    description: 'layer far larger uncompressed than compressed',
  },
  'hazard.too-many-entries': { severity: 'high', description: 'more entries than the scanner reads' },
  'hazard.too-many-bytes': {
    severity: 'high',
    description: 'more uncompressed bytes than the scanner reads',
  },
  'hazard.too-many-layers': { severity: 'medium', description: 'more layers than an image should have' },
} as const satisfies Record<string, { severity: Severity; description: string }>;

export type HazardRule = keyof typeof HAZARD_RULES;

export function hazard(
  rule: HazardRule,
  title: string,
  where: { layer?: string; path?: string; detail?: string },
): Finding {
  return {
    kind: 'hazard',
    rule,
    severity: HAZARD_RULES[rule].severity,
    title,
    ...(where.layer !== undefined ? { layer: where.layer } : {}),
    ...(where.path !== undefined ? { path: where.path } : {}),
    ...(where.detail !== undefined ? { detail: where.detail } : {}),
  };
}

/** For titles: JSON quoting keeps control characters of a hostile name off a terminal. */
export function shown(s: string): string {
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
}

/** Hazards of an entry's name alone (before it becomes a LayerEntry). */
export function nameHazards(raw: string, name: EntryName, layer: string): Finding[] {
  const out: Finding[] = [];
  if (name.traversal) {
    out.push(
      hazard('hazard.path-traversal', `entry ${shown(raw)} climbs out of the root`, { layer, path: raw }),
    );
  } else if (name.absolute) {
    out.push(
      hazard('hazard.absolute-path', `entry ${shown(raw)} has an absolute path`, { layer, path: name.path }),
    );
  }
  return out;
}

/** Hazards of one entry: links out of the root, device nodes, FIFOs. */
export function entryHazards(e: LayerEntry): Finding[] {
  const at = { layer: e.layer, path: e.path };
  switch (e.type) {
    case 'symlink': {
      const parent = parentOf(e.path);
      const target = e.linkname ?? '';
      if (symlinkEscapes(parent === '' ? [] : parent.split('/'), target)) {
        return [
          hazard('hazard.link-escape', `symlink ${shown(e.path)} points above the root (${shown(target)})`, {
            ...at,
            detail: target,
          }),
        ];
      }
      return [];
    }
    case 'hardlink': {
      const target = e.linkname ?? '';
      const n = normalizeEntryName(target);
      if (n.absolute || n.traversal) {
        return [
          hazard(
            'hazard.link-escape',
            `hard link ${shown(e.path)} targets ${shown(target)} outside the layer`,
            {
              ...at,
              detail: target,
            },
          ),
        ];
      }
      return [];
    }
    case 'char':
    case 'block':
      return [
        hazard(
          'hazard.device-node',
          `${e.type === 'char' ? 'character' : 'block'} device ${shown(e.path)}`,
          at,
        ),
      ];
    case 'fifo':
      return [hazard('hazard.fifo', `named pipe ${shown(e.path)}`, at)];
    default:
      return [];
  }
}

/** Two entries of one layer with the same path (two directories only restate metadata: not flagged). */
export function duplicateHazard(e: LayerEntry, earlier: LayerEntry['type']): Finding | undefined {
  if (e.type === 'dir' && earlier === 'dir') return undefined;
  return hazard(
    'hazard.duplicate-entry',
    `${shown(e.path)} appears twice in the layer; the later entry wins`,
    {
      layer: e.layer,
      path: e.path,
      detail: `${earlier} then ${e.type}`,
    },
  );
}

export function badWhiteoutHazard(raw: string, layer: string): Finding {
  return hazard('hazard.bad-whiteout', `whiteout ${shown(raw)} names no file`, { layer, path: raw });
}

export function whiteoutMissingHazard(path: string, layer: string): Finding {
  return hazard('hazard.whiteout-missing', `whiteout of ${shown(path)}, which no lower layer has`, {
    layer,
    path,
  });
}

/** The walker stopped reading a layer: why, in numbers. */
export type StopReason =
  | { kind: 'bomb'; uncompressed: number; compressed: number; maxRatio: number }
  | { kind: 'entries'; limit: number; scope: 'layer' | 'image' }
  | { kind: 'bytes'; limit: number; scope: 'layer' | 'image' };

export function stopHazard(why: StopReason, layer: string): Finding {
  switch (why.kind) {
    case 'bomb':
      return hazard(
        'hazard.decompression-bomb',
        `layer inflates past ${why.maxRatio} times its ${why.compressed} compressed bytes; reading stopped`,
        { layer, detail: `${why.uncompressed} bytes read, ratio > ${why.maxRatio}` },
      );
    case 'entries':
      return hazard(
        'hazard.too-many-entries',
        `more than ${why.limit} entries in the ${why.scope}; reading stopped`,
        {
          layer,
          detail: `limit ${why.limit} per ${why.scope}`,
        },
      );
    case 'bytes':
      return hazard(
        'hazard.too-many-bytes',
        `more than ${why.limit} uncompressed bytes in the ${why.scope}; reading stopped`,
        {
          layer,
          detail: `limit ${why.limit} per ${why.scope}`,
        },
      );
  }
}

export function tooManyLayersHazard(count: number, limit: number): Finding {
  return hazard('hazard.too-many-layers', `the image has ${count} layers (more than ${limit})`, {
    detail: `${count} layers`,
  });
}
