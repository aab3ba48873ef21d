#!/usr/bin/env node
// moat-runtime: the OCI runtime (runc's command line) that podman, containerd and CRI-O call.
// The bundled entry when built (faster start), else tsc's modules.
import { existsSync } from 'node:fs';

const bundled = new URL('../dist/bundle/oci.js', import.meta.url);
const { main } = await import(existsSync(bundled) ? bundled.href : '../dist/oci/main.js');

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`moat-runtime: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
