/**
 * Issue 13, on the run path, against Debian's docker-registry on 127.0.0.1, as the non-root
 * user: under a sigstoreSigned trust policy an unsigned image is refused by `moat run` (exit 4,
 * nothing pulled), signed by `moat sign` it runs, copied with its signature into another
 * repository it is refused by signedIdentity, and a tag game on the local store gets nothing.
 * A signature made with the openssl CLI and assembled by the test (no moat code) verifies too,
 * and the docker CLI against `moat system service` is refused with the reason.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, moat as moatRun } from './moat.js';
import { withData } from './policy-trust-helpers.js';
import { docker, startService, stopService } from './api-helpers.js';
import {
  mainWorld,
  needTools,
  skopeo,
  startRegistry,
  world,
  type Registry,
  type World,
} from './registry-helpers.js';

needTools('docker-registry', 'skopeo', 'openssl');

let reg: Registry;
let src: World;
let keyDir: string;
const moatEnv = (args: string[], env: NodeJS.ProcessEnv) => moatRun(args, { env });
const policyFile = (w: World) => path.join(w.configDir, 'trust.json');

function writePolicy(w: World, scopes: Record<string, unknown>): string {
  const f = policyFile(w);
  writeFileSync(
    f,
    JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { docker: scopes } }),
  );
  return f;
}

beforeAll(async () => {
  reg = await startRegistry();
  src = mainWorld('trust-src');
  keyDir = src.env.HOME!;
  const g = await src.moat(['key', 'generate', '--output-key-prefix', path.join(keyDir, 'ci')]);
  expect(g.code, g.stderr).toBe(0);
  for (const repo of ['team/app:1', 'team/other:1', 'team/unsigned:1', 'team/openssl:1']) {
    const p = await src.moat(['push', IMAGE, `${reg.host}/${repo}`]);
    expect(p.code, p.stderr).toBe(0);
  }
}, 120_000);
afterAll(async () => reg?.stop());

describe('moat run under a sigstoreSigned trust policy', () => {
  it('refuses an unsigned image (exit 4, nothing pulled), runs it once signed by moat sign', async () => {
    const w = world('trust-run');
    const trust = writePolicy(w, {
      [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
    });
    const ref = `${reg.host}/team/app:1`;
    const refused = await w.moat(['run', '--rm', '--trust', trust, ref, 'true']);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/TRUST_UNSIGNED|no signature found/);
    const images = await w.moat(['images', '--format', 'json']);
    expect(images.stdout).not.toContain('team/app');

    const signed = await src.moat(['sign', '--key', path.join(keyDir, 'ci.key'), ref]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/^signed .*team\/app:1@sha256:[0-9a-f]{64} with key sha256:/);

    const ok = await w.moat(['run', '--rm', '--trust', trust, ref, 'echo', 'trusted']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('trusted\n');
    // the verification is recorded: later runs read it, with no registry
    const again = await w.moat(['run', '--rm', '--trust', trust, ref, 'true']);
    expect(again.code, again.stderr).toBe(0);

    // moat verify lists the signature and the decision, and exits 4 for the unsigned one
    const v = await w.moat(['verify', '--trust', trust, '--format', 'json', ref]);
    expect(v.code, v.stderr).toBe(0);
    const r = JSON.parse(v.stdout);
    expect(r).toMatchObject({
      accepted: true,
      verified: true,
      scope: { scope: `${reg.host}/team`, kind: 'namespace' },
    });
    expect(r.signatures[0]).toMatchObject({ kind: 'key', identity: ref });
    const u = await w.moat(['verify', '--trust', trust, `${reg.host}/team/unsigned:1`]);
    expect(u.code).toBe(4);
    expect(u.stdout).toMatch(/decision: +REJECTED \(TRUST_UNSIGNED/);
  }, 120_000);

  it('refuses a signed image copied with its signature into another repository (signedIdentity)', async () => {
    const w = world('trust-copy');
    const trust = writePolicy(w, {
      [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
    });
    const app = `${reg.host}/team/app:1`;
    const s = await src.moat(['sign', '--key', path.join(keyDir, 'ci.key'), app]);
    expect(s.code, s.stderr).toBe(0);
    const digest = /@(sha256:[0-9a-f]{64})/.exec(s.stdout)![1];
    const tag = `sha256-${digest.slice(7)}.sig`;
    // what `cosign copy` does: the signature manifest goes along under the same tag
    const c = skopeo([
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--preserve-digests',
      `docker://${reg.host}/team/app:${tag}`,
      `docker://${reg.host}/team/other:${tag}`,
    ]);
    expect(c.code, c.stderr).toBe(0);
    const r = await w.moat(['run', '--rm', '--trust', trust, `${reg.host}/team/other:1`, 'true']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/TRUST_IDENTITY_MISMATCH|names .*team\/app:1/);
  }, 120_000);

  it('a name given locally to an unverified image gets nothing: runs read verifications by digest', async () => {
    const w = world('trust-tag');
    const trust = writePolicy(w, {
      [`${reg.host}/team/unsigned`]: [{ type: 'insecureAcceptAnything' }],
      [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
    });
    // a different image under the unsigned name: its own layer on top of busybox
    const p = await w.moat(['pull', '--trust', trust, `${reg.host}/team/unsigned:1`]);
    expect(p.code, p.stderr).toBe(0);
    const t = await w.moat(['tag', `${reg.host}/team/unsigned:1`, `${reg.host}/team/app:1`]);
    expect(t.code, t.stderr).toBe(0);
    const r = await w.moat(['run', '--rm', '--trust', trust, `${reg.host}/team/app:1`, 'true']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/TRUST_NOT_VERIFIED|has not been verified/);
  }, 120_000);

  it('verifies a signature made with the openssl CLI and attached by hand (no moat code involved)', async () => {
    const dir = src.env.HOME!;
    const key = path.join(dir, 'openssl.key');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    execFileSync('openssl', ['ec', '-in', key, '-pubout', '-out', `${key}.pub`], { stdio: 'ignore' });
    const ref = `${reg.host}/team/openssl:1`;
    const base = `http://${reg.host}/v2/team/openssl`;
    const head = await fetch(`${base}/manifests/1`, {
      headers: {
        accept:
          'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    const digest = `sha256:${createHash('sha256')
      .update(Buffer.from(await head.arrayBuffer()))
      .digest('hex')}`;
    const payload = Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': ref },
          image: { 'docker-manifest-digest': digest },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    );
    writeFileSync(path.join(dir, 'payload.json'), payload);
    const sig = execFileSync('openssl', ['dgst', '-sha256', '-sign', key, path.join(dir, 'payload.json')]);
    const upload = async (bytes: Buffer) => {
      const d = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(start.headers.get('location')!, base);
      loc.searchParams.set('digest', d);
      const put = await fetch(loc, {
        method: 'PUT',
        body: new Uint8Array(bytes),
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(put.status).toBe(201);
      return d;
    };
    const payloadDigest = await upload(payload);
    const config = Buffer.from('{}');
    const configDigest = await upload(config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          digest: payloadDigest,
          size: payload.length,
          annotations: { 'dev.cosignproject.cosign/signature': sig.toString('base64') },
        },
      ],
    });
    const put = await fetch(`${base}/manifests/sha256-${digest.slice(7)}.sig`, {
      method: 'PUT',
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(put.status).toBe(201);

    const w = world('trust-openssl');
    const trust = writePolicy(w, { [ref]: [{ type: 'sigstoreSigned', keyPath: `${key}.pub` }] });
    const v = await w.moat(['verify', '--trust', trust, '--format', 'json', ref]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ accepted: true, verified: true });
    // and moat's own key is not that key: the same signature fails under it
    const other = writePolicy(w, {
      [ref]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
    });
    const no = await w.moat(['verify', '--trust', other, ref]);
    expect(no.code).toBe(4);
    expect(no.stdout).toMatch(/TRUST_UNTRUSTED_SIGNER/);
    expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
  }, 120_000);

  it('the admission policy reads the recorded decision: require_signature refuses what is only accepted', async () => {
    const w = world('trust-rego');
    // the trust policy accepts the unsigned repository without looking; the Rego policy wants signatures
    const trust = writePolicy(w, {
      [`${reg.host}/team/unsigned`]: [{ type: 'insecureAcceptAnything' }],
      [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
    });
    const env = withData(w, { moat: { require_signature: true } });
    const run = (ref: string) => moatEnv(['run', '--rm', '--trust', trust, ref, 'echo', 'ran'], env);
    const unsigned = await run(`${reg.host}/team/unsigned:1`);
    expect(unsigned.code, unsigned.stderr).toBe(3);
    expect(unsigned.stderr).toMatch(
      /image signature could not be verified \[POLICY_DENIED\]|image signature could not be verified/,
    );
    const s = await src.moat(['sign', '--key', path.join(keyDir, 'ci.key'), `${reg.host}/team/app:1`]);
    expect(s.code, s.stderr).toBe(0);
    const signed = await run(`${reg.host}/team/app:1`);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toBe('ran\n');
  }, 120_000);

  it('docker run against moat system service is refused with the reason', async () => {
    const w = world('trust-docker');
    const trust = writePolicy(w, {
      [`${reg.host}/team`]: [{ type: 'sigstoreSigned', keyPath: path.join(keyDir, 'ci.pub') }],
    });
    const s = await startService(w, { MOAT_TRUST: trust });
    try {
      const r = docker(s, w, ['run', '--rm', `${reg.host}/team/unsigned:1`, 'true']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no signature found|TRUST_UNSIGNED/);
      const ok = docker(s, w, ['run', '--rm', `${reg.host}/team/app:1`, 'echo', 'ok']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe('ok\n');
    } finally {
      await stopService(s);
    }
  }, 120_000);
});
