#!/usr/bin/env node
// The `moat` command: the bundled CLI when built (dist/bundle/cli.cjs, loaded with V8's code
// cache: see src/util/code-cache.ts), else tsc's modules.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundled = fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url));
let main;
if (existsSync(bundled)) {
  const { codeCacheDir, createBundleLoader } = await import('../dist/util/code-cache.js');
  ({ main } = createBundleLoader(codeCacheDir()).load(bundled));
} else {
  ({ main } = await import('../dist/cli/index.js'));
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`moat: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 125;
  },
);
