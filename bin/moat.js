#!/usr/bin/env node
// The `moat` command: the bundled CLI when built (faster start), else tsc's modules.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Node 22.1+ keeps V8's compiled code of the modules on disk (most of a command's start-up is
// compiling moat's code); Node 20 has no such cache and skips this. In the user's own cache
// directory, never a shared one such as /tmp.
if (typeof module.enableCompileCache === 'function') {
  try {
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    module.enableCompileCache(join(cache, 'moat', 'node-compile-cache'));
  } catch {
    /* no cache: only slower */
  }
}

const bundled = new URL('../dist/bundle/cli.js', import.meta.url);
const { main } = await import(existsSync(bundled) ? bundled.href : '../dist/cli/index.js');

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`moat: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 125;
  },
);
