/**
 * Issue 13, registry-attached evidence, against Debian's docker-registry on 127.0.0.1 (which has
 * no referrers API: the referrers tag carries the list) as the non-root user: `moat sign
 * --bundle` attaches a sigstore bundle as a referrer that `moat verify` shows and a run under a
 * key policy accepts; `moat attest` attaches SLSA provenance that the admission policy's
 * require_provenance reads (an allowed builder runs, another is refused with exit 3); and a
 * bundle made by @sigstore/sign and attached by the test by hand (no moat code) verifies.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder, type Signer } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, moat as moatRun } from './moat.js';
import { withData } from './policy-trust-helpers.js';
import { mainWorld, needTools, startRegistry, world, type Registry, type World } from './registry-helpers.js';

needTools('docker-registry', 'skopeo');

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const BUILDER = 'https://ci.example.com/builders/trusted@v1';

let reg: Registry;
let src: World;
let keyDir: string;
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const moatEnv = (args: string[], env: NodeJS.ProcessEnv) => moatRun(args, { env });

function writePolicy(w: World, scopes: Record<string, unknown>): string {
  const f = path.join(w.configDir, 'trust.json');
  writeFileSync(
    f,
    JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { docker: scopes } }),
  );
  return f;
}
const keyPolicy = (w: World, pub = path.join(keyDir, 'ci.pub')) =>
  writePolicy(w, { [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: pub }] });

/** The image manifest `repo:tag` names: its bytes, digest and media type. */
async function manifestOf(repo: string, tag: string) {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json` },
  });
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { bytes, digest: sha(bytes), mediaType: res.headers.get('content-type')!.split(';')[0] };
}

/** The referrers tag's index of `digest` in `repo` (none: undefined). */
async function referrersTag(repo: string, digest: string) {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/sha256-${digest.slice(7)}`, {
    headers: { accept: OCI_INDEX },
  });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return JSON.parse(Buffer.from(await res.arrayBuffer()).toString()) as {
    manifests: { digest: string; artifactType?: string }[];
  };
}

beforeAll(async () => {
  reg = await startRegistry();
  src = mainWorld('attest-src');
  keyDir = src.env.HOME!;
  const g = await src.moat(['key', 'generate', '--output-key-prefix', path.join(keyDir, 'ci')]);
  expect(g.code, g.stderr).toBe(0);
  for (const repo of ['team/bundle:1', 'team/prov:1', 'team/sigstore:1']) {
    const p = await src.moat(['push', IMAGE, `${reg.host}/${repo}`]);
    expect(p.code, p.stderr).toBe(0);
  }
}, 120_000);
afterAll(async () => reg?.stop());

describe('sigstore bundles as referrers, attestations, require_provenance', () => {
  it('moat sign --bundle attaches a referrer (the referrers tag appended to), moat verify shows it, a run accepts it', async () => {
    const ref = `${reg.host}/team/bundle:1`;
    const { digest } = await manifestOf('team/bundle', '1');
    // Debian's registry has no referrers API
    expect((await fetch(`http://${reg.host}/v2/team/bundle/referrers/${digest}`)).status).toBe(404);
    const s = await src.moat(['sign', '--bundle', '--key', path.join(keyDir, 'ci.key'), ref]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/a sigstore bundle attached as a referrer; 1 referrer\(s\)/);
    const again = await src.moat(['sign', '--bundle', '--key', path.join(keyDir, 'ci.key'), ref]);
    expect(again.code, again.stderr).toBe(0);
    const index = await referrersTag('team/bundle', digest);
    expect(index?.manifests).toHaveLength(2); // appended, the first one kept
    expect(index?.manifests.every((m) => m.artifactType === BUNDLE)).toBe(true);
    // no .sig signature was made
    const sig = await fetch(`http://${reg.host}/v2/team/bundle/manifests/sha256-${digest.slice(7)}.sig`);
    expect(sig.status).toBe(404);

    const w = world('attest-bundle');
    const trust = keyPolicy(w);
    const v = await w.moat(['verify', '--trust', trust, '--format', 'json', ref]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const r = JSON.parse(v.stdout);
    expect(r).toMatchObject({ accepted: true, verified: true, digest });
    expect(r.signatures).toHaveLength(2);
    expect(r.signatures[0]).toMatchObject({ kind: 'bundle', key_id: expect.stringMatching(/^sha256:/) });
    const text = await w.moat(['verify', '--trust', trust, ref]);
    expect(text.stdout).toMatch(/signature sha256:[0-9a-f]{12}… \(bundle, key sha256:.*\): verified/);

    const ok = await w.moat(['run', '--rm', '--trust', trust, ref, 'echo', 'bundled']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('bundled\n');
    // another key's policy refuses it
    const other = world('attest-bundle-other');
    const k = await other.moat(['key', 'generate', '--output-key-prefix', path.join(other.env.HOME!, 'x')]);
    expect(k.code, k.stderr).toBe(0);
    const no = await other.moat([
      'run',
      '--rm',
      '--trust',
      keyPolicy(other, path.join(other.env.HOME!, 'x.pub')),
      ref,
      'true',
    ]);
    expect(no.code, no.stderr).toBe(4);
  }, 180_000);

  it('moat attest attaches SLSA provenance: require_provenance runs an allowed builder, refuses another (exit 3)', async () => {
    const ref = `${reg.host}/team/prov:1`;
    const predicate = path.join(keyDir, 'provenance.json');
    writeFileSync(
      predicate,
      JSON.stringify({
        buildDefinition: { buildType: 'https://ci.example.com/build/v1', externalParameters: {} },
        runDetails: { builder: { id: BUILDER }, metadata: { invocationId: '42' } },
      }),
    );
    const s = await src.moat(['sign', '--key', path.join(keyDir, 'ci.key'), ref]);
    expect(s.code, s.stderr).toBe(0);
    const a = await src.moat([
      'attest',
      '--key',
      path.join(keyDir, 'ci.key'),
      '--predicate',
      predicate,
      '--type',
      'slsaprovenance1',
      ref,
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(
      /^attested .*team\/prov:1@sha256:[0-9a-f]{64} \(https:\/\/slsa.dev\/provenance\/v1\)/,
    );

    const w = world('attest-prov');
    const trust = keyPolicy(w);
    const v = await w.moat(['verify', '--trust', trust, '--format', 'json', ref]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const r = JSON.parse(v.stdout);
    expect(r.attestations).toEqual([
      expect.objectContaining({
        predicate_type: 'https://slsa.dev/provenance/v1',
        predicate: expect.objectContaining({
          runDetails: expect.objectContaining({ builder: { id: BUILDER } }),
        }),
        signer: expect.objectContaining({ kind: 'key' }),
        source: 'att',
      }),
    ]);

    const run = (allowed: string[]) =>
      moatEnv(
        ['run', '--rm', '--trust', trust, ref, 'echo', 'provenanced'],
        withData(w, { moat: { require_provenance: true, allowed_builders: allowed } }),
      );
    const ok = await run([BUILDER]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('provenanced\n');
    const refused = await run(['https://ci.example.com/builders/other@v1']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/POLICY_DENIED/);
    expect(refused.stderr).toMatch(/no verified SLSA provenance from an allowed builder/);

    // an attestation by a key the trust policy does not trust never reaches the policy
    const x = world('attest-prov-x');
    const k = await x.moat(['key', 'generate', '--output-key-prefix', path.join(x.env.HOME!, 'x')]);
    expect(k.code, k.stderr).toBe(0);
    const b = await x.moat([
      'attest',
      '--key',
      path.join(x.env.HOME!, 'x.key'),
      '--predicate',
      predicate,
      '--type',
      'slsaprovenance1',
      ref,
    ]);
    expect(b.code, b.stderr).toBe(0);
    const v2 = JSON.parse((await w.moat(['verify', '--trust', trust, '--format', 'json', ref])).stdout);
    expect(v2.attestations).toHaveLength(1);
    expect(v2.checkedAttestations.map((c: { ok: boolean }) => c.ok)).toEqual([true, false]);
  }, 180_000);

  it('verifies a bundle made by @sigstore/sign and attached by hand as a referrer (no moat code)', async () => {
    const repo = 'team/sigstore';
    const ref = `${reg.host}/${repo}:1`;
    const image = await manifestOf(repo, '1');
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pubFile = path.join(src.env.HOME!, 'sigstore-js.pub');
    writeFileSync(pubFile, pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const signer: Signer = {
      sign: async (data) => ({
        signature: sign('sha256', data, pair.privateKey),
        key: {
          $case: 'publicKey',
          publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          hint: 'sigstore-js',
        },
      }),
    };
    // a message signature over the manifest: its digest is the image's (no witness: offline)
    const b = await new MessageSignatureBundleBuilder({ signer, witnesses: [] }).create({
      data: image.bytes,
    });
    const bundle = Buffer.from(JSON.stringify(bundleToJSON(b)));
    // @sigstore/sign labels a key-signed bundle v0.2: attached under that media type as its artifact type
    const type = JSON.parse(bundle.toString()).mediaType as string;
    expect(type).toBe('application/vnd.dev.sigstore.bundle+json;version=0.2');

    const base = `http://${reg.host}/v2/${repo}`;
    const upload = async (bytes: Buffer) => {
      const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(start.headers.get('location')!, base);
      loc.searchParams.set('digest', sha(bytes));
      const put = await fetch(loc, {
        method: 'PUT',
        body: new Uint8Array(bytes),
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(put.status).toBe(201);
      return sha(bytes);
    };
    const empty = Buffer.from('{}');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: type,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: await upload(empty), size: 2 },
        layers: [{ mediaType: type, digest: await upload(bundle), size: bundle.length }],
        subject: { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length },
        annotations: { 'dev.sigstore.bundle.content': 'message-signature' },
      }),
    );
    const put = await fetch(`${base}/manifests/${sha(manifest)}`, {
      method: 'PUT',
      body: new Uint8Array(manifest),
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(put.status).toBe(201);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: sha(manifest), size: manifest.length, artifactType: type },
      ],
    });
    const tag = await fetch(`${base}/manifests/sha256-${image.digest.slice(7)}`, {
      method: 'PUT',
      body: index,
      headers: { 'content-type': OCI_INDEX },
    });
    expect(tag.status).toBe(201);

    const w = world('attest-sigstore-js');
    const trust = keyPolicy(w, pubFile);
    const v = await w.moat(['verify', '--trust', trust, '--format', 'json', ref]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      accepted: true,
      verified: true,
      signatures: [{ kind: 'bundle' }],
    });
    // moat's own key is not that key
    const no = await w.moat(['verify', '--trust', keyPolicy(w), ref]);
    expect(no.code).toBe(4);
    expect(readFileSync(pubFile, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
  }, 180_000);
});
