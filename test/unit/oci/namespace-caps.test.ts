/**
 * A per-namespace capability allow-list: the policy lets pods of a Kubernetes namespace ask for
 * capabilities it refuses elsewhere (data.moat.oci.namespace_capabilities), and oci.json's
 * namespaceCapabilities keeps them through enforce mode's cut.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/oci/main.js';
import { ociConfig } from '../../../src/oci/config.js';
import { OciError } from '../../../src/oci/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'moat-oci-nscaps-'));
const fake = path.join(root, 'fake-runc');
const out = path.join(root, 'out');
const bundle = path.join(root, 'bundle');
const POLICIES = path.resolve(import.meta.dirname, '../../../policies/authz.rego');
const data = path.join(root, 'data.json');
const ociJson = path.join(root, 'oci.json');
writeFileSync(
  fake,
  `#!/bin/sh
for a in "$@"; do case "$a" in --bundle=*) cp "\${a#--bundle=}/config.json" "${out}/config.json";; esac; done
exit 0
`,
);
chmodSync(fake, 0o755);
writeFileSync(
  data,
  JSON.stringify({ moat: { oci: { namespace_capabilities: { 'net-tools': ['NET_ADMIN'] } } } }),
);
writeFileSync(ociJson, JSON.stringify({ namespaceCapabilities: { 'net-tools': ['NET_ADMIN'] } }));

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  process.env = {
    ...saved,
    MOAT_POLICY: `${POLICIES}:${data}`,
    MOAT_OCI_CONFIG: ociJson,
    XDG_CACHE_HOME: path.join(root, 'cache'),
  };
  delete process.env.MOAT_OCI_LOG;
  delete process.env.MOAT_RUNTIME_NESTED;
});

const CAPS = ['CAP_CHOWN', 'CAP_NET_ADMIN'];
function create(namespace: string): Promise<number> {
  writeFileSync(
    path.join(bundle, 'config.json'),
    JSON.stringify({
      process: { args: ['true'], capabilities: { bounding: CAPS, effective: CAPS } },
      root: { path: 'rootfs' },
      annotations: {
        'io.kubernetes.cri.sandbox-namespace': namespace,
        'io.kubernetes.cri.sandbox-name': 'p1',
        'io.kubernetes.cri.container-type': 'container',
      },
      linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
    }),
  );
  return main(['node', 'moat-runtime', '--runtime-binary', fake, 'create', '--bundle', bundle, 'c1']);
}

describe('a per-namespace capability allow-list', () => {
  it('the namespace’s pods keep NET_ADMIN; other namespaces are refused it', async () => {
    expect(await create('net-tools')).toBe(0);
    const spec = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(spec.process.capabilities.bounding).toEqual(CAPS);
    rmSync(path.join(out, 'config.json'));
    expect(await create('shop')).toBe(1);
    expect(existsSync(path.join(out, 'config.json'))).toBe(false);
  });

  it('exec in the namespace’s pod keeps them too (the namespace from moat’s copy of the spec)', async () => {
    expect(await create('net-tools')).toBe(0);
    // `state` names the bundle moat wrote; exec records its --cap flags
    const exec = path.join(root, 'fake-runc-exec');
    writeFileSync(
      exec,
      `#!/bin/sh
for a in "$@"; do case "$a" in state) printf '{"id":"c1","bundle":"${bundle}/.moat-runtime"}\\n'; exit 0;; esac; done
printf '%s\\n' "$@" > "${out}/args"
`,
    );
    chmodSync(exec, 0o755);
    const args = async (ns: string) => {
      writeFileSync(ociJson, JSON.stringify({ namespaceCapabilities: { [ns]: ['NET_ADMIN'] } }));
      expect(
        await main([
          'node',
          'moat-runtime',
          '--runtime-binary',
          exec,
          'exec',
          '--cap',
          'CAP_NET_ADMIN',
          'c1',
          'sh',
        ]),
      ).toBe(0);
      return readFileSync(path.join(out, 'args'), 'utf8').trim().split('\n');
    };
    try {
      expect(await args('net-tools')).toEqual(['exec', '--cap=CAP_NET_ADMIN', '--no-new-privs', 'c1', 'sh']);
      expect(await args('other')).toEqual(['exec', '--no-new-privs', 'c1', 'sh']);
    } finally {
      writeFileSync(ociJson, JSON.stringify({ namespaceCapabilities: { 'net-tools': ['NET_ADMIN'] } }));
    }
  });

  it('oci.json: namespaceCapabilities read as CAP_ names, and checked', () => {
    const f = path.join(root, 'oci-2.json');
    writeFileSync(f, JSON.stringify({ namespaceCapabilities: { a: ['SYS_PTRACE'], b: [] } }));
    expect(ociConfig({ MOAT_OCI_CONFIG: f }).namespaceCapabilities).toEqual({ a: ['CAP_SYS_PTRACE'], b: [] });
    for (const bad of [{ a: 'NET_ADMIN' }, ['a'], { a: ['net admin'] }]) {
      writeFileSync(f, JSON.stringify({ namespaceCapabilities: bad }));
      expect(() => ociConfig({ MOAT_OCI_CONFIG: f })).toThrow(OciError);
    }
  });
});
