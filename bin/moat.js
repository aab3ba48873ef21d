#!/usr/bin/env node
import { main } from '../dist/cli/index.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`moat: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 125;
  },
);
