/**
 * The code cache as root: root given another user's cache directory (`sudo -E` keeps HOME and
 * XDG_CACHE_HOME) neither reads entries from it nor creates anything in it: that user could
 * replace what root would later compile as code.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheDir, createBundleLoader } from '../../src/util/code-cache.js';

const NOBODY = 65534;
let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'moat-code-cache-root-'));
  writeFileSync(path.join(root, 'cli.cjs'), "'use strict';\nexports.main = () => 'ran';\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('code cache, root', () => {
  it("creates nothing in another user's cache directory, and compiles from source", () => {
    const home = path.join(root, 'home');
    mkdirSync(path.join(home, '.cache'), { recursive: true, mode: 0o755 });
    chownSync(home, NOBODY, NOBODY);
    chownSync(path.join(home, '.cache'), NOBODY, NOBODY);
    const dir = codeCacheDir({ HOME: home });
    const l = createBundleLoader(dir, { onExit: false });
    expect(l.dir).toBeUndefined();
    expect((l.load(path.join(root, 'cli.cjs')) as { main: () => string }).main()).toBe('ran');
    l.flush();
    expect(existsSync(path.join(home, '.cache', 'moat'))).toBe(false);
  });

  it('uses a directory of its own, and one created below a sticky directory (/tmp)', () => {
    const own = createBundleLoader(path.join(root, 'cache', 'moat', 'code-cache', 'v'), { onExit: false });
    expect(own.dir).toBeDefined();
    const sticky = path.join('/tmp', path.basename(root) + '-sticky', 'moat', 'code-cache', 'v');
    try {
      expect(createBundleLoader(sticky, { onExit: false }).dir).toBe(sticky);
    } finally {
      rmSync(path.dirname(path.dirname(path.dirname(sticky))), { recursive: true, force: true });
    }
  });
});
