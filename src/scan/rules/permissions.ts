import type { FileKeeper } from '../layers/layer-scan.js';
import type { MergedFs } from '../layers/merge.js';
import type { Finding, LayerEntry, Severity } from '../types.js';
import { shown } from './hazards.js';

/**
 * Permission findings on the merged filesystem (what a container would see): setuid/setgid
 * executables, world-writable files and directories without the sticky bit, and owners the image's
 * own /etc/passwd and /etc/group do not name. Entries a later layer replaced or deleted do not count.
 */

export const PERMISSION_RULES = {
  'permission.setuid': { severity: 'medium', description: 'setuid executable' },
  'permission.setgid': { severity: 'low', description: 'setgid executable' },
  'permission.world-writable-file': { severity: 'medium', description: 'world-writable file' },
  'permission.world-writable-dir': {
    severity: 'medium',
    description: 'world-writable directory without the sticky bit',
  },
  'permission.unknown-uid': { severity: 'low', description: 'owner not in /etc/passwd' },
  'permission.unknown-gid': { severity: 'low', description: 'group not in /etc/group' },
} as const satisfies Record<string, { severity: Severity; description: string }>;

type PermissionRule = keyof typeof PERMISSION_RULES;

export const ACCOUNT_FILES = ['etc/passwd', 'etc/group'] as const;

/** The account databases, retained by the walker for this rule. */
export const ACCOUNT_KEEPER: FileKeeper = {
  name: 'accounts',
  wants: (path) => (ACCOUNT_FILES as readonly string[]).includes(path),
  maxBytes: 4 * 1024 * 1024,
};

/** The numeric IDs (third field) of a passwd or group file; 0 is always known. */
export function accountIds(content: Buffer | undefined): Set<number> {
  const ids = new Set<number>([0]);
  if (!content) return ids;
  for (const line of content.toString('utf8').split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !/^\d{1,10}$/.test(f[2])) continue;
    ids.add(Number(f[2]));
  }
  return ids;
}

function permission(rule: PermissionRule, e: LayerEntry, title: string, detail?: string): Finding {
  return {
    kind: 'permission',
    rule,
    severity: PERMISSION_RULES[rule].severity,
    title,
    layer: e.layer,
    path: e.path,
    ...(detail !== undefined ? { detail } : {}),
  };
}

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** Findings on one final entry's mode. */
export function modeFindings(e: LayerEntry): Finding[] {
  const out: Finding[] = [];
  const m = e.mode;
  if (e.type === 'file' && m & 0o111) {
    if (m & 0o4000)
      out.push(permission('permission.setuid', e, `setuid ${shown(e.path)} (uid ${e.uid})`, octal(m)));
    if (m & 0o2000)
      out.push(permission('permission.setgid', e, `setgid ${shown(e.path)} (gid ${e.gid})`, octal(m)));
  }
  if (m & 0o002) {
    if (e.type === 'file')
      out.push(permission('permission.world-writable-file', e, `world-writable ${shown(e.path)}`, octal(m)));
    if (e.type === 'dir' && !(m & 0o1000)) {
      out.push(
        permission(
          'permission.world-writable-dir',
          e,
          `world-writable ${shown(e.path)} without the sticky bit`,
          octal(m),
        ),
      );
    }
  }
  return out;
}

/**
 * Every permission finding of the merged view. Unknown owners are reported once per ID (the first
 * path owned by it, in path order, and how many entries it owns): a tree copied with a host UID
 * is one finding, not one per file.
 */
export function permissionFindings(fs: MergedFs): Finding[] {
  const out: Finding[] = [];
  const uids = accountIds(fs.content('etc/passwd'));
  const gids = accountIds(fs.content('etc/group'));
  const unknown = {
    uid: new Map<number, { first: LayerEntry; n: number }>(),
    gid: new Map<number, { first: LayerEntry; n: number }>(),
  };
  for (const e of fs.entries()) {
    out.push(...modeFindings(e));
    for (const [kind, id, known] of [
      ['uid', e.uid, uids],
      ['gid', e.gid, gids],
    ] as const) {
      if (known.has(id)) continue;
      const seen = unknown[kind].get(id);
      if (!seen) unknown[kind].set(id, { first: e, n: 1 });
      else {
        seen.n++;
        if (e.path < seen.first.path) seen.first = e;
      }
    }
  }
  for (const [id, { first, n }] of unknown.uid) {
    out.push(
      permission(
        'permission.unknown-uid',
        first,
        `uid ${id} owns ${n} entries; /etc/passwd does not name it`,
        `uid ${id}: ${n} entries`,
      ),
    );
  }
  for (const [id, { first, n }] of unknown.gid) {
    out.push(
      permission(
        'permission.unknown-gid',
        first,
        `gid ${id} owns ${n} entries; /etc/group does not name it`,
        `gid ${id}: ${n} entries`,
      ),
    );
  }
  return out;
}
