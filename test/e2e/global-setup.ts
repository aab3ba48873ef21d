/**
 * Prepares the e2e suite: refuses to run as root (a rootless runtime tested as root is untested),
 * makes private XDG directories, builds moat's default image there, and hands the environment to
 * the test files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';

const root = path.resolve(import.meta.dirname, '../..');

export default function setup(project: TestProject): () => void {
  if (process.getuid?.() === 0 && process.env.MOAT_E2E_ALLOW_ROOT !== '1') {
    throw new Error(
      'the container e2e tests must run as a non-root user: as root, run `bash .ci/run`, or `scripts/setup-test-user.sh` and then `runuser -u moat-ci -- npm run test:e2e`',
    );
  }
  if (!existsSync(path.join(root, 'dist/cli/index.js'))) throw new Error('build first: npm run build');
  const base = mkdtempSync(path.join(tmpdir(), 'moat-e2e-'));
  const env = { XDG_DATA_HOME: path.join(base, 'data'), XDG_RUNTIME_DIR: path.join(base, 'run') };
  execFileSync('mkdir', ['-p', '-m', '700', env.XDG_DATA_HOME, env.XDG_RUNTIME_DIR]);
  execFileSync(
    process.execPath,
    [path.join(root, 'scripts/build-default-image.mjs'), '--out', path.join(base, 'rootfs.tar')],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // Unpack the image once, so that no test sees the one-time "unpacking" progress line.
  execFileSync(process.execPath, [path.join(root, 'bin/moat.js'), 'run', '--rm', 'moat/busybox', 'true'], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  project.provide('moatEnv', { ...env, base, root });
  return () => {
    if (process.env.MOAT_E2E_KEEP !== '1') {
      // Files owned by subordinate IDs can only be removed inside the user namespace.
      try {
        execFileSync('unshare', ['--user', '--map-root-user', '--map-auto', 'rm', '-rf', base], {
          stdio: 'ignore',
        });
      } catch {
        rmSync(base, { recursive: true, force: true });
      }
    }
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    moatEnv: { XDG_DATA_HOME: string; XDG_RUNTIME_DIR: string; base: string; root: string };
  }
}
