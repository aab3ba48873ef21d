/**
 * User and IDs: resolving `-u` against the image's /etc/passwd and /etc/group, supplementary
 * groups and `--group-add`, and which GIDs the container's ID maps cover. Pure: the files' text
 * is passed in.
 */
import type { IdMaps } from '../../userns/idmap.js';
import { mappedSize } from '../../userns/idmap.js';
import { RuntimeError } from '../errors.js';

export interface UserIds {
  uid: number;
  gid: number;
  home: string;
  additionalGids: number[];
}

/** How many UIDs and GIDs the container's maps cover (IDs 0..count-1 exist inside it). */
export interface MappedCounts {
  uids: number;
  gids: number;
}

export function mappedCounts(idmaps: IdMaps): MappedCounts {
  return { uids: mappedSize(idmaps.uidMap), gids: mappedSize(idmaps.gidMap) };
}

function passwdLines(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** Resolve `uid`, `uid:gid`, `name`, `name:group` against the image's passwd/group files. */
export function resolveUser(spec: string | undefined, passwd?: string, group?: string): UserIds {
  const s = spec && spec.length ? spec : '0';
  const [u, g] = s.split(':', 2);
  const pw = passwdLines(passwd);
  const gr = passwdLines(group);
  let uid: number;
  let entry: string[] | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    entry = pw.find((e) => e[2] === u);
  } else {
    entry = pw.find((e) => e[0] === u);
    if (!entry)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `user "${u}" not found in the image's /etc/passwd`, {
        hint: 'use a numeric UID[:GID]',
      });
    uid = Number(entry[2]);
  }
  let gid: number;
  if (g === undefined) gid = entry ? Number(entry[3]) : 0;
  else if (/^\d+$/.test(g)) gid = Number(g);
  else {
    const ge = gr.find((e) => e[0] === g);
    if (!ge)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `group "${g}" not found in the image's /etc/group`, {
        hint: 'use a numeric GID',
      });
    gid = Number(ge[2]);
  }
  if (
    !Number.isSafeInteger(uid) ||
    !Number.isSafeInteger(gid) ||
    uid < 0 ||
    gid < 0 ||
    uid > 0xfffffffe ||
    gid > 0xfffffffe
  ) {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid user "${s}"`);
  }
  const name = entry?.[0];
  const additionalGids = name
    ? gr
        .filter((e) => (e[3] ?? '').split(',').includes(name))
        .map((e) => Number(e[2]))
        .filter((x) => x !== gid)
    : [];
  return { uid, gid, home: entry?.[5] || (uid === 0 ? '/root' : '/'), additionalGids };
}

/**
 * `--group-add`: GIDs, or names from the image's /etc/group (docker's), each mapped into the
 * container's ID range (a GID outside it is refused, not dropped).
 */
export function resolveGroupAdd(
  groups: string[] | undefined,
  group: string | undefined,
  gidMapped: (g: number) => boolean,
  errors: string[],
): number[] {
  const out: number[] = [];
  const gr = passwdLines(group);
  for (const g of groups ?? []) {
    let gid: number;
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = gr.find((x) => x[0] === g);
      if (!e || !/^\d+$/.test(e[2] ?? '')) {
        errors.push(`--group-add ${g}: no such group in the image's /etc/group`);
        continue;
      }
      gid = Number(e[2]);
    }
    if (!gidMapped(gid)) errors.push(`--group-add ${g}: group ${gid} is not mapped into the container`);
    else out.push(gid);
  }
  return out;
}

/** The process's supplementary groups: the image's (those mapped) then `--group-add`, each once. */
export function additionalGidsOf(
  user: UserIds,
  groupAdd: number[],
  gidMapped: (g: number) => boolean,
): number[] {
  return [...new Set([...user.additionalGids.filter(gidMapped), ...groupAdd])];
}
