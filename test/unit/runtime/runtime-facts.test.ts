import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  askRuntimeVersion,
  compareVersions,
  fixedUpstream,
  groupsReachContainers,
  runtimeFacts,
  runtimeFactsFrom,
} from '../../../src/runtime/runtime-facts.js';

const debian = 'runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n';
const upstream = 'runc version 1.3.3\ncommit: v1.3.3-0-gd842d771\nspec: 1.2.1\n';

describe('runtime facts', () => {
  it('compares versions numerically, ignoring distribution suffixes', () => {
    expect(compareVersions('1.1.12', '1.1.5+ds1')).toBe(1);
    expect(compareVersions('1.1.5+ds1', '1.1.5')).toBe(0);
    expect(compareVersions('1.2.10', '1.10.0')).toBe(-1);
  });

  it('an advisory is fixed from the first fixed release of the same branch', () => {
    const fixed = ['1.2.8', '1.3.3', '1.4.0'];
    expect(fixedUpstream('1.2.7', fixed)).toBe(false);
    expect(fixedUpstream('1.2.8', fixed)).toBe(true);
    expect(fixedUpstream('1.3.2', fixed)).toBe(false);
    expect(fixedUpstream('1.1.15', fixed)).toBe(false);
    expect(fixedUpstream('1.5.0', fixed)).toBe(true);
  });

  it("Debian's runc 1.1.5: the 2024 fd leak is backported, the November 2025 fixes are not", () => {
    const f = runtimeFactsFrom('/usr/sbin/runc', debian, '  * CVE-2024-21626: several container breakouts\n');
    expect(f.version).toBe('1.1.5');
    expect(f.package).toBe('1.1.5+ds1-1+deb12u1');
    expect(f.backported).toEqual(['CVE-2024-21626']);
    expect(f.unfixed).toEqual(['CVE-2025-52881', 'CVE-2025-52565', 'CVE-2025-31133']);
  });

  it('without the changelog the fd leak counts as unfixed; a fixed upstream release has none', () => {
    expect(runtimeFactsFrom('/x/runc', debian, undefined).unfixed).toContain('CVE-2024-21626');
    const up = runtimeFactsFrom('/usr/local/bin/runc', upstream, undefined);
    expect(up).toMatchObject({ version: '1.3.3', package: null, unfixed: [], backported: [] });
  });

  it('no runc: no version and nothing claimed', () => {
    expect(runtimeFactsFrom(null, undefined, undefined)).toMatchObject({ version: null, unfixed: [] });
  });

  it("the caller's groups reach containers only under the single-ID mapping", () => {
    expect(groupsReachContainers('subordinate')).toBe(false);
    expect(groupsReachContainers('single')).toBe(true);
  });

  it('the version asked ahead (askRuntimeVersion) gives the facts asking it when needed gives', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-runc-'));
    try {
      const fake = (name: string, script: string) => {
        const f = path.join(dir, name);
        writeFileSync(f, `#!/bin/sh\n${script}\n`);
        chmodSync(f, 0o755);
        return f;
      };
      const ok = fake('ok', `printf '${upstream.replace(/\n/g, '\\n')}'`);
      const failing = fake('failing', 'exit 1');
      await askRuntimeVersion(ok);
      await askRuntimeVersion(failing);
      await askRuntimeVersion(path.join(dir, 'missing'));
      expect(runtimeFacts(ok)).toEqual(runtimeFactsFrom(ok, upstream, undefined));
      expect(runtimeFacts(failing)).toEqual(runtimeFactsFrom(failing, undefined, undefined));
      expect(runtimeFacts(path.join(dir, 'missing')).version).toBeNull();
      // Asked once: the answer is kept for the process, as runtimeFacts keeps its own.
      writeFileSync(ok, '#!/bin/sh\nexit 1\n');
      await askRuntimeVersion(ok);
      expect(runtimeFacts(ok).version).toBe('1.3.3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps what runc said in the runtime directory, asked again when the binary changes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'moat-runc-kept-'));
    // A fresh module stands for a new moat command: nothing kept in the process.
    const fresh = async () => {
      vi.resetModules();
      return import('../../../src/runtime/runtime-facts.js');
    };
    try {
      const calls = path.join(dir, 'calls');
      const runc = path.join(dir, 'runc');
      const install = (version: string) => {
        // A new file (new inode), as a package upgrade installs one.
        rmSync(runc, { force: true });
        writeFileSync(runc, `#!/bin/sh\necho x >> ${calls}\nprintf 'runc version ${version}\\n'\n`);
        chmodSync(runc, 0o755);
      };
      const asked = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').length - 1 : 0);
      install('1.3.3');
      let m = await fresh();
      await m.askRuntimeVersion(runc, dir);
      expect(m.runtimeFacts(runc, dir).version).toBe('1.3.3');
      expect(asked()).toBe(1);
      expect(existsSync(path.join(dir, 'runc-version.json'))).toBe(true);
      // The next command: not asked, the same facts.
      m = await fresh();
      await m.askRuntimeVersion(runc, dir);
      expect(m.runtimeFacts(runc, dir).version).toBe('1.3.3');
      m = await fresh();
      expect(m.runtimeFacts(runc, dir).version).toBe('1.3.3');
      expect(asked()).toBe(1);
      // Replaced: asked again, whatever was kept.
      install('1.4.0');
      m = await fresh();
      await m.askRuntimeVersion(runc, dir);
      expect(m.runtimeFacts(runc, dir).version).toBe('1.4.0');
      expect(asked()).toBe(2);
      // A kept answer for another binary identity is not taken for this one.
      writeFileSync(
        path.join(dir, 'runc-version.json'),
        JSON.stringify({ id: 'other', out: 'runc version 9.9.9\n' }),
      );
      m = await fresh();
      expect(m.runtimeFacts(runc, dir).version).toBe('1.4.0');
      expect(asked()).toBe(3);
      // A failed answer is not kept: the next command asks again.
      rmSync(path.join(dir, 'runc-version.json'));
      writeFileSync(runc, '#!/bin/sh\nexit 1\n');
      m = await fresh();
      expect(m.runtimeFacts(runc, dir).version).toBeNull();
      expect(existsSync(path.join(dir, 'runc-version.json'))).toBe(false);
    } finally {
      vi.resetModules();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
