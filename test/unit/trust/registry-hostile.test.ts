/**
 * Signature fetching against a registry that misbehaves (issue 13, bad input): thousands of
 * signature layers, huge payloads, payloads that are not what their digest says, a signature
 * manifest whose digest differs from the one the registry names. Each is a clear TRUST_* refusal
 * within bounded reads, and nothing is accepted.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withDefaults } from '../../../src/image/registry/config.js';
import { closeAgents } from '../../../src/image/registry/tls.js';
import { makePayload } from '../../../src/trust/cosign/payload.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { verifyRemote } from '../../../src/trust/image.js';
import { smallImage, startFakeRegistry, type FakeRegistry } from '../registry/fake-registry.js';
import type { BuiltImage } from '../image/helpers.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let reg: FakeRegistry;
let img: BuiltImage;
let dir: string;
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pubB64 = Buffer.from(key.publicKey.export({ type: 'spki', format: 'pem' }) as string).toString(
  'base64',
);

beforeAll(async () => {
  reg = await startFakeRegistry();
  img = await smallImage();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-trust-reg-'));
});
afterAll(async () => {
  await closeAgents();
  await reg.close();
  await fsp.rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  reg.blobs.clear();
  reg.manifests.clear();
  reg.intercept = undefined;
  reg.log.length = 0;
  reg.addImage('app', '1', img);
});

const cfg = () =>
  withDefaults({ allowLoopbackHttp: true }, { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') });
const policy = () =>
  parsePolicy(JSON.stringify({ default: [{ type: 'sigstoreSigned', keyData: pubB64 }] }), '/p.json');
const sigTag = () => `app:sha256-${img.manifestDigest.slice(7)}.sig`;

function layerFor(payload: Buffer, sig?: Buffer) {
  reg.blobs.set(sha(payload), payload);
  return {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: sha(payload),
    size: payload.length,
    annotations: {
      'dev.cosignproject.cosign/signature': (sig ?? sign('sha256', payload, key.privateKey)).toString(
        'base64',
      ),
    },
  };
}
function putSigManifest(layers: unknown[], tweak?: (m: Buffer) => Buffer) {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('{}'), size: 2 },
      layers,
    }),
  );
  reg.manifests.set(sigTag(), {
    bytes: tweak ? tweak(bytes) : bytes,
    type: 'application/vnd.oci.image.manifest.v1+json',
  });
}
const verify = () => verifyRemote(policy(), `${reg.host}/app:1`, { cfg: cfg() });
const blobGets = () => reg.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/')).length;

describe('signatures from a hostile registry', () => {
  it('a well-formed signature verifies (the baseline for the cases below)', async () => {
    putSigManifest([layerFor(makePayload(`${reg.host}/app:1`, img.manifestDigest))]);
    const r = await verify();
    expect(r.error).toBeUndefined();
    expect(r.accepted).toBe(true);
  });

  it('refuses a signature manifest with thousands of layers without fetching any of them', async () => {
    const one = layerFor(makePayload(`${reg.host}/app:1`, img.manifestDigest));
    putSigManifest(Array.from({ length: 5000 }, () => one));
    const r = await verify();
    expect(r.accepted).toBe(false);
    expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
    expect(r.error?.message).toMatch(/5000 layers; moat reads at most 64/);
    expect(blobGets()).toBe(0);
  });

  it('refuses a huge payload from its announced size, and one larger than announced', async () => {
    const big = Buffer.alloc(10 << 20, 0x20);
    putSigManifest([{ ...layerFor(Buffer.from('x')), size: big.length }]);
    let r = await verify();
    expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
    expect(r.error?.message).toMatch(/larger than/);
    expect(blobGets()).toBe(0);
    // the manifest says small, the registry streams 10 MiB: the read stops at the cap
    const small = makePayload(`${reg.host}/app:1`, img.manifestDigest);
    const l = layerFor(small);
    putSigManifest([l]);
    reg.intercept = (req, res, url) => {
      if (!url.pathname.endsWith(l.digest)) return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(big);
      return true;
    };
    r = await verify();
    expect(r.accepted).toBe(false);
    expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
  });

  it('refuses a payload blob that does not hash to its digest', async () => {
    const payload = makePayload(`${reg.host}/app:1`, img.manifestDigest);
    const l = layerFor(payload);
    reg.blobs.set(l.digest, Buffer.from(payload.toString().replace('app', 'apq')));
    putSigManifest([l]);
    const r = await verify();
    expect(r.accepted).toBe(false);
    expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
    expect(r.error?.message).toMatch(/does not hash to its digest/);
  });

  it('refuses a signature manifest whose digest differs from the one the registry announces', async () => {
    putSigManifest([layerFor(makePayload(`${reg.host}/app:1`, img.manifestDigest))]);
    const real = reg.manifests.get(sigTag())!;
    reg.intercept = (req, res, url) => {
      if (!url.pathname.endsWith(`sha256-${img.manifestDigest.slice(7)}.sig`)) return false;
      res.writeHead(200, {
        'content-type': real.type,
        'docker-content-digest': sha('something else'),
        'content-length': real.bytes.length,
      });
      res.end(real.bytes);
      return true;
    };
    const r = await verify();
    expect(r.accepted).toBe(false);
    expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
    expect(r.error?.message).toMatch(/but the registry announced/);
  });

  it('refuses malformed signature manifests and annotations', async () => {
    for (const bad of [Buffer.from('{not json'), Buffer.from('{"layers": 3}')]) {
      reg.manifests.set(sigTag(), { bytes: bad, type: 'application/vnd.oci.image.manifest.v1+json' });
      const r = await verify();
      expect(r.accepted, bad.toString()).toBe(false);
      expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
    }
    const l = layerFor(makePayload(`${reg.host}/app:1`, img.manifestDigest));
    putSigManifest([{ ...l, annotations: { 'dev.cosignproject.cosign/signature': 'x'.repeat(70_000) } }]);
    expect((await verify()).error?.message).toMatch(/larger than 65536 bytes/);
  });

  it('an image with no signature attachment is unsigned, not an error of the registry', async () => {
    const r = await verify();
    expect([r.accepted, r.error?.code]).toEqual([false, 'TRUST_UNSIGNED']);
  });
});
