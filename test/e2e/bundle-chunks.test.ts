/**
 * The built CLI bundle (dist/bundle, CommonJS chunks: scripts/bundle.mjs) loads in every order a
 * command can load it. CommonJS assigns a chunk's exports when the chunk ends, where ES modules
 * hoisted its function declarations: a chunk whose top-level code used a function of a chunk still
 * being initialised further up a require cycle would find `undefined`. Each chunk is loaded here as
 * the first chunk required after cli.cjs (what a command's lazy require does), in a fresh loader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const bundle = path.resolve(import.meta.dirname, '../../dist/bundle');

describe('the CLI bundle', () => {
  it('every chunk loads after cli.cjs in a fresh loader, and none calls import()', async () => {
    const { createBundleLoader } = (await import(
      path.resolve(import.meta.dirname, '../../dist/util/code-cache.js')
    )) as typeof import('../../src/util/code-cache.js');
    const chunks = readdirSync(bundle).filter((f) => f.startsWith('chunk-') && f.endsWith('.cjs'));
    expect(chunks.length).toBeGreaterThan(50);
    const failed: string[] = [];
    for (const f of chunks) {
      expect(readFileSync(path.join(bundle, f), 'utf8')).not.toMatch(/\bimport\(/);
      const l = createBundleLoader(undefined, { onExit: false });
      try {
        l.load(path.join(bundle, 'cli.cjs'));
        l.load(path.join(bundle, f));
      } catch (e) {
        failed.push(`${f}: ${(e as Error).message}`);
      }
    }
    expect(failed).toEqual([]);
  });
});
