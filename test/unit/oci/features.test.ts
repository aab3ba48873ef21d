/** `moat-runtime features`: runc's JSON with moat's additions in its annotations. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/oci/main.js';

const root = mkdtempSync(path.join(tmpdir(), 'moat-oci-features-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('moat-runtime features', () => {
  it("keeps runc's answer and names the actions the policy decides and the hardening", async () => {
    const fake = path.join(root, 'fake-runc');
    writeFileSync(
      fake,
      `#!/bin/sh\n[ "$1" = features ] && printf '{"ociVersionMin":"1.0.0","annotations":{"io.github.seccomp.libseccomp.version":"2.5.4"}}\\n'\n`,
    );
    chmodSync(fake, 0o755);
    let printed = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      printed += String(s);
      return true;
    });
    try {
      expect(await main(['node', 'moat-runtime', '--runtime-binary', fake, 'features'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const j = JSON.parse(printed) as { ociVersionMin: string; annotations: Record<string, string> };
    expect(j.ociVersionMin).toBe('1.0.0');
    expect(j.annotations['io.github.seccomp.libseccomp.version']).toBe('2.5.4');
    expect(j.annotations['org.moat.runtime.policy']).toBe(
      'rego:data.moat.authz.decision (oci.create, oci.update)',
    );
    expect(j.annotations['org.moat.runtime.hardening'].split(',')).toContain('landlock');
  });
});
