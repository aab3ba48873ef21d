import { promises as fsp } from 'node:fs';
import { errnoCode, MoatError } from '../errors.js';

/**
 * A cross-process lock: a file created with O_EXCL holding the owner's pid. A lock whose owner
 * is dead is stolen. Node has no flock(2), and this is enough for CLI invocations of one user.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const release = await acquire(file, timeoutMs);
  try {
    return await fn();
  } finally {
    await release();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

export async function acquire(file: string, timeoutMs = 15_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      const fh = await fsp.open(file, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(await fsp.readFile(file, 'utf8'), 10);
    } catch {
      /* vanished or being written: retry */
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      // Stale: the owner died holding it. Remove only if it is still the same owner's file.
      const again = await fsp.readFile(file, 'utf8').catch(() => '');
      if (again === String(owner)) await fsp.rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new MoatError(
        'RUNTIME_LOCK_TIMEOUT',
        `timed out waiting for lock ${file} (held by pid ${owner})`,
        {
          hint: 'another moat command is working on this object; retry when it has finished',
        },
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}
