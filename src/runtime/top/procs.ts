/**
 * The container's processes as /proc shows them: every process in the PID namespace of its init
 * (exec'd commands join it too), read from its stat, status and cmdline. PIDs are the host's (as
 * docker top shows them); users and groups are named as the container sees them: the host IDs
 * are mapped back through the init's uid_map/gid_map and named from the container's own
 * /etc/passwd and /etc/group. Reads only; every file is small and every listing bounded.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { namespacePids } from '../stats.js';
import type { ProcInfo } from './ps.js';

/** An ID map's lines: `inside outside count`. */
export type IdMapLine = [inside: number, outside: number, count: number];

export function parseIdMap(text: string): IdMapLine[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isSafeInteger))
    .map((f) => f as IdMapLine);
}

/** A host ID as the container sees it, or undefined where the map does not cover it. */
export function insideId(map: readonly IdMapLine[], host: number): number | undefined {
  for (const [inside, outside, count] of map)
    if (host >= outside && host < outside + count) return inside + host - outside;
  return undefined;
}

/** ID → name from passwd- or group-shaped text (`name:x:id:...`). */
export function namesById(text: string | undefined): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (/^\d+$/.test(f[2]) && !out.has(id)) out.set(id, f[0]);
  }
  return out;
}

/** /proc/PID/stat's fields after the command name (which may hold spaces and parentheses). */
export function parseStatLine(
  text: string,
): Omit<ProcInfo, 'uid' | 'gid' | 'user' | 'group' | 'args' | 'vszKb' | 'rssKb'> | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).split(' ');
  const num = (i: number) => Number(f[i]);
  const pid = Number(text.slice(0, open).trim());
  const out = {
    pid,
    comm: text.slice(open + 1, close),
    state: f[0] ?? '?',
    ppid: num(1),
    pgid: num(2),
    sid: num(3),
    ttyNr: num(4),
    tpgid: num(5),
    cpuTicks: num(11) + num(12),
    nice: num(16),
    threads: num(17),
    startTicks: num(19),
  };
  const numbers = [
    pid,
    out.ppid,
    out.pgid,
    out.sid,
    out.ttyNr,
    out.cpuTicks,
    out.nice,
    out.threads,
    out.startTicks,
  ];
  return numbers.every(Number.isFinite) ? out : undefined;
}

/** The effective UID and GID, and resident and virtual memory (KiB) from /proc/PID/status. */
export function parseStatusIds(text: string): { uid: number; gid: number; rssKb: number; vszKb: number } {
  const field = (name: string, i = 0) => {
    const m = new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(text);
    return m ? Number(m[1].trim().split(/\s+/)[i]) : NaN;
  };
  const or0 = (n: number) => (Number.isFinite(n) ? n : 0);
  return {
    uid: field('Uid', 1),
    gid: field('Gid', 1),
    rssKb: or0(field('VmRSS')),
    vszKb: or0(field('VmSize')),
  };
}

/** argv from /proc/PID/cmdline (NUL-separated, perhaps NUL-terminated). */
export function parseCmdline(buf: Buffer | string): string[] {
  const s = buf.toString();
  if (!s) return [];
  return s.replace(/\0$/, '').split('\0');
}

export interface ProcReadEnv {
  proc: string;
  /** The container's /etc/passwd and /etc/group text (undefined: IDs are shown as numbers). */
  passwd?: string;
  group?: string;
}

const read = (f: string) => fsp.readFile(f, 'utf8').catch(() => undefined);

/** Every process of the container whose init is `init`, as ps shows them. */
export async function containerProcs(init: number, env: ProcReadEnv): Promise<ProcInfo[]> {
  const pids = await namespacePids(init, env.proc);
  const [uidMap, gidMap] = await Promise.all(
    ['uid_map', 'gid_map'].map(async (f) =>
      parseIdMap((await read(path.join(env.proc, String(init), f))) ?? ''),
    ),
  );
  const users = namesById(env.passwd);
  const groups = namesById(env.group);
  const name = (map: IdMapLine[], names: Map<number, string>, host: number) => {
    const id = insideId(map, host);
    return { id: id ?? host, name: id === undefined ? String(host) : (names.get(id) ?? String(id)) };
  };
  const out: ProcInfo[] = [];
  for (const pid of pids) {
    const dir = path.join(env.proc, String(pid));
    const [stat, status, cmdline] = await Promise.all([
      read(path.join(dir, 'stat')),
      read(path.join(dir, 'status')),
      fsp.readFile(path.join(dir, 'cmdline')).catch(() => Buffer.alloc(0)),
    ]);
    const s = stat ? parseStatLine(stat) : undefined;
    if (!s || !status) continue; // gone meanwhile
    const ids = parseStatusIds(status);
    const u = name(uidMap, users, ids.uid);
    const g = name(gidMap, groups, ids.gid);
    out.push({
      ...s,
      uid: u.id,
      user: u.name,
      gid: g.id,
      group: g.name,
      args: parseCmdline(cmdline.subarray(0, 64 * 1024)),
      vszKb: ids.vszKb,
      rssKb: ids.rssKb,
    });
  }
  return out;
}
