#!/usr/bin/env node
// Build step: bundle the CLI, moat-runtime's Node program and the container monitor (from tsc's
// output in dist/) into dist/bundle/ with esbuild. Loading one file instead of ~50 modules takes
// ~25 ms off every command. Most npm packages stay external; code loaded on demand (tar, policy,
// the registry client) stays in split chunks.
// Paths the code resolves relative to itself still hold from dist/bundle/: ../image/unpack-worker.js
// and ../generated/validators/ are in dist/, ./monitor-main.js is beside the chunks.
//
// esbuild's chunks are then cut again by rollup (no tree-shaking: the code is esbuild's, as it
// is): esbuild gives a module used by the CLI and by code it loads on demand a chunk of its own,
// even when the CLI has loaded it already, so `moat ps` read 73 files; rollup's chunks, 24. Each
// file costs Node's ESM loader ~0.3 ms before its code is compiled.
//
// The monitor (runtime/monitor-main.js) and moat-runtime's Node program (oci/main.js) are each
// bundled on their own, one file with only the code it reaches (esbuild's tree-shaking; what it
// imports on demand inlined), not as entries of the CLI's split build. There the monitor shared
// rollup's chunks with the CLI and loaded 19 files and 190 KB, much of it the CLI's (container
// files, volumes, the image store); it is started beside every `moat run` and competes with the
// CLI for the CPU. As one 143 KB file, `run --rm` took ~50 ms less wall time (16 interleaved
// runs, loaded machine). Without the two entries the CLI's own chunks are fewer (206 -> 176
// files): `ps -a` -6 ms, `run --rm` -4 ms wall, -9 and -14 ms CPU (20 interleaved runs, quiet
// machine); moat-runtime's in-process create, one 365 KB file, 168 -> 155 ms (12 runs).
//
// The CLI's chunks are written as CommonJS (.cjs) and loaded by src/util/code-cache.ts with V8's
// code cache: compiling them was ~40 ms of a `moat run`'s CPU and ~45 of a `moat ps`'s.
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const stage = `${dist}.bundle-esbuild`;
// Chunk names change with their content: start empty, or old chunks pile up.
rmSync(`${dist}bundle`, { recursive: true, force: true });
rmSync(stage, { recursive: true, force: true });
/** What both esbuild runs share. */
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // commander (always needed) is bundled, and undici: loading its ~150 modules took ~130 ms of
  // every pull and push (measured: a pull's manifest request started at 0.40 s, 0.24 s bundled).
  // Other packages loaded on demand stay external.
  external: ['pino', 'tar-stream', 'js-yaml', '@open-policy-agent/opa-wasm', 'node-forge', 'ajv', 'ajv/*'],
  // Bundled CommonJS packages (commander) call require(): give ESM chunks one.
  banner: {
    js: "import { createRequire as __moatCreateRequire } from 'node:module'; const require = __moatCreateRequire(import.meta.url);",
  },
  // No whitespace, comments or redundant syntax (names are kept: stack traces still name their
  // functions): 30% less code for Node to read and scan on every command (cli.js 309 -> 202 KB),
  // ~5 ms of `moat ps`.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: {
    cli: `${dist}cli/index.js`,
  },
  outdir: stage,
  splitting: true,
});
const chunks = await rollup({
  input: { cli: `${stage}/cli.js` },
  // Only esbuild's own files are rollup's to place: node: modules and packages stay imports.
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  treeshake: false,
  // The entry chunks may export what other chunks need: no facade file in front of cli.js.
  preserveEntrySignatures: 'allow-extension',
  onwarn: (w, warn) => {
    // esbuild's chunks import each other in cycles (as the sources do); harmless here.
    if (w.code !== 'CIRCULAR_DEPENDENCY' && w.code !== 'UNUSED_EXTERNAL_IMPORT') warn(w);
  },
});
// CommonJS, so that bin/moat.js can compile each file with V8's code cache (vm.Script takes one,
// an ES module does not on Node 20: src/util/code-cache.ts). Every import() becomes a require(),
// which the loader serves (no import() may be left: a vm.Script has no module loader behind it).
await chunks.write({
  dir: `${dist}bundle`,
  format: 'cjs',
  dynamicImportInCjs: false,
  generatedCode: 'es2015',
  entryFileNames: '[name].cjs',
  chunkFileNames: 'chunk-[hash].cjs',
});
await chunks.close();
rmSync(stage, { recursive: true, force: true });
/**
 * One program bundled on its own (esbuild: only the code it reaches), then made CommonJS by
 * rollup (NAME.cjs) for the code cache, with NAME.js, an ES module that loads it through the
 * cache: the path callers already start or import.
 */
async function standalone(entry, name, launcher) {
  await build({ ...common, entryPoints: [entry], outfile: `${stage}/${name}.js`, splitting: false });
  const one = await rollup({
    input: `${stage}/${name}.js`,
    external: (id) => !id.startsWith('.') && !id.startsWith('/'),
    treeshake: false,
    onwarn: (w, warn) => {
      if (w.code !== 'UNUSED_EXTERNAL_IMPORT') warn(w);
    },
  });
  await one.write({
    file: `${dist}bundle/${name}.cjs`,
    format: 'cjs',
    dynamicImportInCjs: false,
    generatedCode: 'es2015',
    inlineDynamicImports: true,
  });
  await one.close();
  rmSync(stage, { recursive: true, force: true });
  writeFileSync(
    `${dist}bundle/${name}.js`,
    `// Written by scripts/bundle.mjs: ${name}.cjs, loaded with V8's code cache (src/util/code-cache.ts).
import { fileURLToPath } from 'node:url';
import { codeCacheDir, createBundleLoader } from '../util/code-cache.js';
${launcher}
`,
  );
}
// The monitor runs when loaded (it reads its requests from fd 3).
await standalone(
  `${dist}runtime/monitor-main.js`,
  'monitor-main',
  `createBundleLoader(codeCacheDir()).load(fileURLToPath(new URL('./monitor-main.cjs', import.meta.url)));`,
);
// moat-runtime's Node program: bin/moat-runtime.js imports main from here.
await standalone(
  `${dist}oci/main.js`,
  'oci',
  `export const { main } = createBundleLoader(codeCacheDir()).load(
  fileURLToPath(new URL('./oci.cjs', import.meta.url)),
);`,
);
for (const f of readdirSync(`${dist}bundle`)) {
  if (f.endsWith('.cjs') && /\bimport\(/.test(readFileSync(`${dist}bundle/${f}`, 'utf8'))) {
    throw new Error(`bundle: dist/bundle/${f} still calls import(), which the CommonJS loader cannot serve`);
  }
}
