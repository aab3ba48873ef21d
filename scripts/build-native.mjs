#!/usr/bin/env node
// Build step: moat's native helpers (native/*.c) into dist/native/, static, with gcc: moat-tty,
// the console of containers with a terminal (src/runtime/tty.ts says why it is native), and
// moat-init, the containers' first process that applies Landlock (src/runtime/landlock.ts).
// Without gcc the build goes on and says so: `moat run -t` then fails with
// RUNTIME_TTY_UNAVAILABLE, and containers run without Landlock (with a warning; --init uses tini).
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/native/`;
const WITHOUT = {
  'moat-tty': 'containers with a terminal (-t) will not start',
  'moat-init': 'containers will run without Landlock',
};
mkdirSync(out, { recursive: true });
for (const name of ['moat-tty', 'moat-init']) {
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
    process.stderr.write(`build-native: ${name} not built: ${why}; ${WITHOUT[name]}\n`);
    if (process.env.CI === 'true') process.exit(1);
  }
}
