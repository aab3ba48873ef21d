/**
 * moat-init on this host: its path (built into dist/native by `npm run build`, see
 * native/moat-init.c), and the kernel's Landlock ABI, which only a system call can tell
 * (landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)): moat-init --abi asks it.
 * Starting it costs milliseconds, more than Landlock itself, so the answer is kept in the runtime
 * directory keyed by the boot (the ABI is the running kernel's: it changes only with a reboot)
 * and asked again after one. The spec generator gets both as host facts (spec/landlock.ts).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '../util/fsutil.js';

const HELPER = fileURLToPath(new URL('../native/moat-init', import.meta.url));

/** moat-init's path, or undefined when it was not built (no gcc at install). */
export function moatInitPath(helper = HELPER): string | undefined {
  try {
    accessSync(helper, constants.X_OK);
    return helper;
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The kernel's Landlock ABI (0: none), asked once per boot. `runtimeDir` holds the answer
 * (`landlock-abi`: the boot's ID and the ABI); a file that does not parse is asked again.
 */
export function landlockAbi(runtimeDir: string, helper: string | undefined = moatInitPath()): number {
  if (!helper) return 0;
  const boot = bootId();
  const file = path.join(runtimeDir, 'landlock-abi');
  if (boot) {
    try {
      const m = /^(\S+) (\d+)\n$/.exec(readFileSync(file, 'utf8'));
      if (m && m[1] === boot) return Number(m[2]);
    } catch {
      /* not asked yet */
    }
  }
  let abi = 0;
  try {
    abi = Number(execFileSync(helper, ['--abi'], { encoding: 'utf8', timeout: 5000 }).trim()) || 0;
  } catch {
    return 0; // it could not say: none, and ask again next time
  }
  if (boot) {
    try {
      writeFileAtomicSync(file, `${boot} ${abi}\n`);
    } catch {
      /* the runtime directory is not there yet: ask again next time */
    }
  }
  return abi;
}
