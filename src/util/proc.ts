import { readFileSync } from 'node:fs';

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
