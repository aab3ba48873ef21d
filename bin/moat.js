#!/usr/bin/env node
// The `moat` command: the bundled CLI when built (faster start), else tsc's modules.
import { existsSync } from 'node:fs';

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
