#!/usr/bin/env node
// Build step: write every registered JSON-schema validator as standalone code, one file each
// (dist/generated/validators/NAME.cjs, see generatedFile in src/util/schema.ts), so the CLI never
// compiles a schema at start-up and reads only the validators a command uses.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
const { registeredValidators, generatedFile } = await import(
  new URL('util/schema.js', `file://${dist}`).href
);

// Start empty: a validator no longer registered leaves no file behind (nor does the one-file form).
const out = `${dist}generated/validators/`;
rmSync(out, { recursive: true, force: true });
rmSync(`${dist}generated/validators.cjs`, { force: true });
mkdirSync(out, { recursive: true });
let n = 0;
for (const [name, e] of registeredValidators()) {
  const ajv = new Ajv(e.options);
  const v = ajv.compile(e.schema);
  // standaloneCode sets module.exports to the validate function; the file exports it with its hash.
  const code = standaloneCode(ajv, v);
  writeFileSync(
    out + generatedFile(name),
    `${code}\nmodule.exports = { hash: ${JSON.stringify(e.hash)}, validate: module.exports };\n`,
  );
  n++;
}
console.error(`gen-validators: ${n} validators`);
