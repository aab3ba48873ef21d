#!/usr/bin/env node
// Build step: moat's native helpers (native/*.c) into dist/native/, static, with gcc: moat-tty,
// the console of containers with a terminal (src/runtime/tty.ts says why it is native), and
// moat-seccomp-listen, the recorder of `moat seccomp learn` (it receives runc's seccomp
// notification fd over a unix socket, which Node cannot). Also dist/native/syscalls.json: the
// host architecture's syscall numbers, read from the C library's headers (learned profiles name
// the calls they saw). And moat-init, the containers' first process that applies Landlock
// (src/runtime/landlock.ts). And moat-oci-front, moat-runtime's create without Node when oci.json
// names a running service (native/moat-oci-front.c). Without gcc the build goes on and says so:
// everything but terminals (-t) and seccomp learning works (RUNTIME_TTY_UNAVAILABLE,
// SECCOMP_LEARN_UNAVAILABLE), containers run without Landlock (with a warning; --init uses tini),
// and moat-runtime's create always starts Node.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/native/`;
const WITHOUT = {
  'moat-tty': 'containers with a terminal (-t) will not start',
  'moat-seccomp-listen': 'moat seccomp learn will not run',
  'moat-init': 'containers will run without Landlock',
  'moat-oci-front':
    'moat-runtime create starts Node even when oci.json names a service (slower, same decisions)',
};
mkdirSync(out, { recursive: true });
for (const name of Object.keys(WITHOUT)) {
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

// The host's syscall numbers, as the C library's headers define them (__NR_name N).
try {
  const defs = execFileSync(process.env.CC || 'gcc', ['-E', '-dM', '-x', 'c', '-'], {
    input: '#include <sys/syscall.h>\n',
    encoding: 'utf8',
  });
  const table = {};
  for (const m of defs.matchAll(/^#define __NR_(\w+) (\d+)$/gm)) table[m[1]] = Number(m[2]);
  if (Object.keys(table).length < 100) throw new Error(`only ${Object.keys(table).length} syscalls found`);
  const tmp = `${out}.syscalls.json.tmp`;
  writeFileSync(tmp, JSON.stringify({ arch: process.arch, syscalls: table }) + '\n');
  renameSync(tmp, `${out}syscalls.json`);
} catch (e) {
  process.stderr.write(`build-native: no syscall table: ${e.message}; moat seccomp learn will not run\n`);
  if (process.env.CI === 'true') process.exit(1);
}
