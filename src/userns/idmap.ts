/**
 * ID mappings: pure functions from /etc/subuid-style text and the caller's identity to the
 * mapping a container gets. Container root is never host root: for an unprivileged caller it is
 * the caller, for root it is the start of root's subordinate range.
 */

export interface IdRange {
  start: number;
  count: number;
}

/** One line of a uid_map/gid_map: `containerID hostID size`. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface IdMaps {
  /** 'subordinate': container IDs 1..n come from /etc/subuid; 'single': only container root exists. */
  mode: 'subordinate' | 'single';
  uidMap: IdMapping[];
  gidMap: IdMapping[];
  /** Host IDs that container root is, for humans and the policy. */
  rootUid: number;
  rootGid: number;
}

/** Parse /etc/subuid or /etc/subgid text; entries may name the user or its numeric ID. */
export function parseSubIds(text: string, user: string | undefined, id: number): IdRange[] {
  const out: IdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3) continue;
    const [who, s, c] = parts;
    if (who !== String(id) && (user === undefined || who !== user)) continue;
    const start = Number(s);
    const count = Number(c);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count <= 0) continue;
    out.push({ start, count });
  }
  return out;
}

export interface Identity {
  uid: number;
  gid: number;
  subuids: IdRange[];
  subgids: IdRange[];
}

/**
 * The mapping a container gets. Unprivileged: 0 → caller, 1..n → the first subordinate range.
 * Root: 0..n-1 → root's first subordinate range (never host root itself). With no usable range an
 * unprivileged caller gets a single-ID mapping; root without a range cannot run containers.
 */
export function computeIdMaps(who: Identity): IdMaps | { error: string } {
  const su = who.subuids[0];
  const sg = who.subgids[0];
  if (who.uid === 0) {
    if (!su || !sg) return { error: 'root has no subordinate ID range' };
    return {
      mode: 'subordinate',
      uidMap: [{ containerID: 0, hostID: su.start, size: su.count }],
      gidMap: [{ containerID: 0, hostID: sg.start, size: sg.count }],
      rootUid: su.start,
      rootGid: sg.start,
    };
  }
  if (su && sg) {
    return {
      mode: 'subordinate',
      uidMap: [
        { containerID: 0, hostID: who.uid, size: 1 },
        { containerID: 1, hostID: su.start, size: su.count },
      ],
      gidMap: [
        { containerID: 0, hostID: who.gid, size: 1 },
        { containerID: 1, hostID: sg.start, size: sg.count },
      ],
      rootUid: who.uid,
      rootGid: who.gid,
    };
  }
  return {
    mode: 'single',
    uidMap: [{ containerID: 0, hostID: who.uid, size: 1 }],
    gidMap: [{ containerID: 0, hostID: who.gid, size: 1 }],
    rootUid: who.uid,
    rootGid: who.gid,
  };
}

/** Map a container ID to the host ID it is, or undefined when it is not mapped. */
export function toHost(map: IdMapping[], id: number): number | undefined {
  for (const m of map)
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

/** The highest container ID + 1 that the map covers contiguously from 0. */
export function mappedSize(map: IdMapping[]): number {
  let n = 0;
  for (const m of [...map].sort((a, b) => a.containerID - b.containerID)) {
    if (m.containerID !== n) break;
    n += m.size;
  }
  return n;
}

/**
 * util-linux `unshare` arguments that create a user namespace with this mapping (it calls
 * newuidmap/newgidmap, which check /etc/subuid and /etc/subgid).
 */
export function unshareMapArgs(maps: IdMaps, callerUid: number): string[] {
  const args: string[] = [];
  if (callerUid !== 0) args.push('--map-root-user');
  // For an unprivileged caller, container root is covered by --map-root-user.
  const keep = (m: IdMapping) => callerUid === 0 || m.containerID !== 0;
  for (const m of maps.uidMap.filter(keep)) args.push(`--map-users=${m.hostID},${m.containerID},${m.size}`);
  for (const m of maps.gidMap.filter(keep)) args.push(`--map-groups=${m.hostID},${m.containerID},${m.size}`);
  // Host root is not mapped into root's containers: become the namespace's root (a subordinate
  // ID on the host) instead of acting as the unmapped overflow user. This drops root's groups.
  if (callerUid === 0) args.push('--setuid', '0', '--setgid', '0');
  return args;
}
