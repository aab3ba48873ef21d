#!/usr/bin/env node
// Build step: moat's native helpers (native/*.c) into dist/native/, static, with gcc. Only
// moat-tty so far: the console of containers with a terminal (src/runtime/tty.ts says why it is
// native). Without gcc the build goes on and says so: everything but terminals (-t) works, and
// `moat run -t` then fails with RUNTIME_TTY_UNAVAILABLE.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/native/`;
mkdirSync(out, { recursive: true });
for (const name of ['moat-tty']) {
  const tmp = `${out}.${name}.tmp`;
  try {
    execFileSync(
      process.env.CC || 'gcc',
      ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, `${root}native/${name}.c`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    renameSync(tmp, out + name); // never a half-written helper
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = e.code === 'ENOENT' ? 'gcc is not installed (apt-get install gcc libc6-dev)' : e.message;
    process.stderr.write(
      `build-native: ${name} not built: ${why}; containers with a terminal (-t) will not start\n`,
    );
    if (process.env.CI === 'true') process.exit(1);
  }
}
