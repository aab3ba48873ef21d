#!/usr/bin/env node
// Build step: write every registered JSON-schema validator as standalone code to
// dist/generated/validators.cjs, so the CLI never compiles a schema at start-up.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Ajv } = require('ajv');
const standaloneCode = require('ajv/dist/standalone').default;
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

// Importing these modules registers their validators.
for (const m of [
  'api/all-routes.js',
  'seccomp/index.js',
  'image/types.js',
  'image/archive.js',
  'trust/policy/schema.js',
]) {
  const mod = await import(new URL(m, `file://${dist}`).href);
  mod.registerValidators?.();
}
const { registeredValidators } = await import(new URL('util/schema.js', `file://${dist}`).href);

const parts = ['"use strict";'];
let n = 0;
for (const [name, e] of registeredValidators()) {
  const ajv = new Ajv(e.options);
  const v = ajv.compile(e.schema);
  const code = standaloneCode(ajv, v).replace(/^"use strict";/, '');
  // Each validator gets its own module scope; its `module.exports` is the validate function.
  parts.push(
    `exports[${JSON.stringify(name)}] = (function () { const module = { exports: {} }; ${code}\n return { hash: ${JSON.stringify(e.hash)}, validate: module.exports }; })();`,
  );
  n++;
}
mkdirSync(new URL('generated/', `file://${dist}`), { recursive: true });
writeFileSync(new URL('generated/validators.cjs', `file://${dist}`), parts.join('\n') + '\n');
console.error(`gen-validators: ${n} validators`);
