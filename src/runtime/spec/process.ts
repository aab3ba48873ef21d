/**
 * The container's process: its command line (entrypoint and cmd, Docker's rules) and its
 * environment (moat's defaults, the image's, then the run's). Pure.
 */
import { RuntimeError } from '../errors.js';
import type { RunOptions } from '../options.js';
import type { ImageRunConfig } from './types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Later entries win by key; an entry without `KEY=` throws RUNTIME_INVALID_OPTION. */
export function mergeEnv(base: string[], over: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const i = e.indexOf('=');
    if (i <= 0)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid environment entry "${e}"`, {
        hint: 'use -e KEY=VALUE',
      });
    m.set(e.slice(0, i), e.slice(i + 1));
  }
  return [...m].map(([k, v]) => `${k}=${v}`);
}

export function commandLine(opts: RunOptions, image: ImageRunConfig): string[] {
  const ep =
    opts.entrypoint !== undefined ? opts.entrypoint.filter((x) => x !== '') : (image.Entrypoint ?? []);
  // Docker: overriding the entrypoint drops the image's Cmd.
  const cmd = opts.cmd && opts.cmd.length ? opts.cmd : opts.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  return [...ep, ...cmd];
}
