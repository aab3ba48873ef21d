/**
 * Stopping a container's network stack once the container has ended (its monitor, or `rm -f`):
 * the pid the hook recorded, killed only if it is still that stack (its /proc comm), so a pid
 * reused since is never signalled. A stack that is gone already is no error.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { readUntrusted } from '../../util/fsutil.js';
import type { NetworkState } from './hook.js';

/** The hook's record of what it did, if the container has a network and it ran. */
export async function readNetworkState(stateFile: string): Promise<NetworkState | undefined> {
  const text = await readUntrusted(stateFile, 65536).catch(() => '');
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as NetworkState;
    return Number.isInteger(s.pid) && s.pid > 0 && Array.isArray(s.ports) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Where a container's slirp4netns API socket is (short: a socket path has at most 107 bytes). */
export function apiSocketOf(runcRoot: string, id: string): string {
  return path.join(runcRoot, `net-${id.slice(0, 12)}.sock`);
}

/** Stop the stack, and remove its API socket (slirp4netns leaves it when it is killed). */
export async function stopNetwork(stateFile: string, apiSocket: string): Promise<void> {
  rmSync(apiSocket, { force: true });
  const s = await readNetworkState(stateFile);
  if (!s) return;
  let comm = '';
  try {
    comm = readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim();
  } catch {
    return; // gone
  }
  // pasta execs passt's binary for the CPU (passt.avx2): its comm says passt.
  const ours = s.mode === 'pasta' ? /^(pasta|passt)/.test(comm) : comm === 'slirp4netns';
  if (!ours) return;
  try {
    process.kill(s.pid, 'SIGTERM');
  } catch {
    /* gone meanwhile */
  }
}
