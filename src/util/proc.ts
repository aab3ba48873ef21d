import { readFileSync, readlinkSync } from 'node:fs';

function stat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process's start time (clock ticks since boot), to tell it from a later one with its PID. */
export function processStartTime(pid: number): string | undefined {
  return stat(pid)?.[19];
}

/**
 * Is the process alive (not gone, not a zombie)? With `startTime`, it must also still be the
 * process we recorded (guards against PID reuse). kill(pid, 0) is not enough: it succeeds on
 * zombies, and a monitor reparented to a PID 1 that reaps slowly would look alive forever.
 */
export function processAlive(pid: number | undefined, startTime?: string): boolean {
  if (!pid || pid <= 0) return false;
  const f = stat(pid);
  if (!f || f[0] === 'Z' || f[0] === 'X') return false;
  return startTime === undefined || f[19] === startTime;
}

/**
 * Is `pid` still in use by the process recorded with it? For callers to which a wrong "gone" is
 * the risky answer: a lock would be stolen from its holder, a live unpack's tree removed, a
 * running container taken for stopped. kill(pid, 0) says whether the PID exists at all (EPERM:
 * it does, another user's); /proc then rules out what kill(0) cannot: a zombie (it has exited, so
 * whatever it held is free) and, with `startTime`, a later process that reused the PID. A process
 * /proc does not show (hidepid) is taken to be the one recorded, where processAlive says "gone".
 */
export function pidInUse(pid: number, startTime?: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const f = stat(pid);
  if (!f) return true;
  if (f[0] === 'Z' || f[0] === 'X') return false;
  return startTime === undefined || f[19] === startTime;
}

/** Is `pid` the process `ancestor` or below it, at most `depth` generations down? */
export function descendantOf(pid: number, ancestor: number | undefined, depth = 4): boolean {
  if (!ancestor || !Number.isSafeInteger(pid) || pid <= 0) return false;
  let p = pid;
  for (let i = 0; i <= depth; i++) {
    if (p === ancestor) return true;
    const parent = Number(stat(p)?.[1]);
    if (!Number.isSafeInteger(parent) || parent <= 1) return false;
    p = parent;
  }
  return false;
}

/**
 * Is `pid` a live process of a container: in a user namespace other than moat's own, with every
 * uid (real, effective, saved, filesystem) one that `hostRanges` covers? A pid read from a file
 * container root can write (runc's state, for root's containers) may name any process; root's
 * moat must not signal or enter one of the host's on its word.
 */
export function containerProcess(
  pid: number,
  hostRanges: readonly { hostID: number; size: number }[],
): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    if (readlinkSync(`/proc/${pid}/ns/user`) === readlinkSync('/proc/self/ns/user')) return false;
    const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const uids = line ? line[1].trim().split(/\s+/).map(Number) : [];
    return (
      uids.length > 0 && uids.every((u) => hostRanges.some((r) => u >= r.hostID && u < r.hostID + r.size))
    );
  } catch {
    return false;
  }
}
