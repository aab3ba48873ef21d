/**
 * Sigstore bundles attached as OCI 1.1 referrers, read from a fake registry (issue 13): the
 * referrers API, the `sha256-<hex>` referrers tag where the API answers 404, and the bounds —
 * descriptors per index, no nesting, a referrer manifest whose digest or size differs from the
 * descriptor that named it (TRUST_FETCH_FAILED), one about another image (ignored).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withDefaults } from '../../../src/image/registry/config.js';
import { closeAgents } from '../../../src/image/registry/tls.js';
import { makeStatement, signatureStatement } from '../../../src/trust/attest/statement.js';
import { parsePublicKey } from '../../../src/trust/key/public-key.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { verifyRemote } from '../../../src/trust/image.js';
import { parseReferrersIndex, REFERRERS_LIMITS } from '../../../src/trust/registry/referrers.js';
import type { Repo } from '../../../src/trust/registry/repo.js';
import { signBundle } from '../../../src/trust/sign/dsse.js';
import { smallImage, startFakeRegistry, type FakeRegistry } from '../registry/fake-registry.js';
import type { BuiltImage } from '../image/helpers.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
let reg: FakeRegistry;
let img: BuiltImage;
let dir: string;
const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = k.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const key = { key: k.privateKey, pub: parsePublicKey(pem, 'k') };

beforeAll(async () => {
  reg = await startFakeRegistry();
  img = await smallImage();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-trust-referrers-'));
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
  parsePolicy(
    JSON.stringify({
      default: [{ type: 'sigstoreSigned', keyData: Buffer.from(pem).toString('base64') }],
    }),
    '/p.json',
  );
const verify = () => verifyRemote(policy(), `${reg.host}/app:1`, { cfg: cfg() });

/** Stores a bundle as a referrer of the image; returns its descriptor for an index. */
function referrer(bundle: Buffer, o: { subject?: string; layers?: number } = {}) {
  reg.blobs.set(sha(bundle), bundle);
  reg.blobs.set(sha('{}'), Buffer.from('{}'));
  const layer = { mediaType: BUNDLE, digest: sha(bundle), size: bundle.length };
  const m = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 },
      layers: Array(o.layers ?? 1).fill(layer),
      subject: { mediaType: OCI_MANIFEST, digest: o.subject ?? img.manifestDigest, size: 1 },
    }),
  );
  reg.manifests.set(`app:${sha(m)}`, { bytes: m, type: OCI_MANIFEST });
  return { mediaType: OCI_MANIFEST, digest: sha(m), size: m.length, artifactType: BUNDLE };
}
const index = (manifests: unknown[]) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
const tagIndex = (manifests: unknown[]) =>
  reg.manifests.set(`app:sha256-${img.manifestDigest.slice(7)}`, {
    bytes: index(manifests),
    type: OCI_INDEX,
  });
const signed = () => signBundle(key, signatureStatement('app', img.manifestDigest));

describe('referrers indexes', () => {
  const repo = { name: 'r/app' } as Repo;
  it('parses descriptors and refuses more than the limit, or malformed ones', () => {
    const d = { mediaType: OCI_MANIFEST, digest: sha('x'), size: 3, artifactType: BUNDLE };
    expect(parseReferrersIndex(repo, index([d]))).toEqual([d]);
    expect(parseReferrersIndex(repo, Buffer.from('{"schemaVersion":2}'))).toEqual([]);
    const cases: [Buffer, RegExp][] = [
      [index(Array(REFERRERS_LIMITS.maxReferrers + 1).fill(d)), /at most 64/],
      [Buffer.from('nope'), /not valid JSON/],
      [Buffer.from('{"schemaVersion":1,"manifests":[]}'), /schemaVersion 2/],
      [index([{ ...d, digest: 'sha256:xyz' }]), /no valid digest/],
      [index([{ ...d, size: -1 }]), /no valid size/],
      [index([{ ...d, artifactType: 7 }]), /artifactType/],
      [index([{ ...d, annotations: { a: 1 } }]), /annotation a/],
    ];
    for (const [b, re] of cases) {
      let err: unknown;
      try {
        parseReferrersIndex(repo, b);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'TRUST_FETCH_FAILED' });
      expect((err as Error).message).toMatch(re);
    }
  });
});

describe('bundles attached as referrers', () => {
  it('finds a bundle through the referrers tag when the API answers 404', async () => {
    tagIndex([referrer(signed())]);
    const r = await verify();
    expect(r.error).toBeUndefined();
    expect(r.signatures).toEqual([expect.objectContaining({ kind: 'bundle', key_id: key.pub.id })]);
    expect(reg.log.some((l) => l.path.endsWith(`/referrers/${img.manifestDigest}`))).toBe(true);
  });

  it('uses the referrers API when the registry has one', async () => {
    const d = referrer(signed());
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.endsWith(`/referrers/${img.manifestDigest}`)) return false;
      res.writeHead(200, { 'content-type': OCI_INDEX }).end(index([d]));
      return true;
    };
    const r = await verify();
    expect(r.error).toBeUndefined();
    expect(r.signatures).toHaveLength(1);
    expect(reg.log.some((l) => l.path.endsWith(`/manifests/sha256-${img.manifestDigest.slice(7)}`))).toBe(
      false,
    );
  });

  it('refuses a referrer manifest whose digest differs from the descriptor that named it', async () => {
    const d = referrer(signed());
    const real = reg.manifests.get(`app:${d.digest}`)!;
    // the registry serves another manifest (same size) under the digest it was asked for
    const swapped = Buffer.from(real.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    reg.manifests.set(`app:${d.digest}`, { bytes: swapped.subarray(0, swapped.length), type: OCI_MANIFEST });
    tagIndex([d]);
    const r = await verify();
    expect(r.accepted).toBe(false);
    expect(r.error?.code).toBe('TRUST_FETCH_FAILED');
    expect(r.error?.message).toMatch(/hashes to/);
  });

  it('refuses a referrer whose size differs, or with more than one layer; ignores one about another image and nested indexes', async () => {
    const d = referrer(signed());
    tagIndex([{ ...d, size: d.size + 1 }]);
    expect((await verify()).error?.code).toBe('TRUST_FETCH_FAILED');
    tagIndex([referrer(signed(), { layers: 2 })]);
    expect((await verify()).error?.message).toMatch(/exactly one layer/);
    tagIndex([referrer(signed(), { subject: sha('another image') }), { ...d, mediaType: OCI_INDEX }]);
    const r = await verify();
    expect(r.error?.code).toBe('TRUST_UNSIGNED');
  });

  it('in-toto attestations among the referrers are attestations, not signatures', async () => {
    const prov = makeStatement('app', img.manifestDigest, 'https://slsa.dev/provenance/v1', {
      runDetails: { builder: { id: 'https://ci.example/b' } },
    });
    tagIndex([referrer(signBundle(key, prov))]);
    const r = await verify();
    expect(r.error?.code).toBe('TRUST_UNSIGNED');
    expect(r.attestations).toEqual([
      expect.objectContaining({ predicate_type: 'https://slsa.dev/provenance/v1', source: 'referrer' }),
    ]);
  });
});
