/**
 * `moat trust verify-blob`: one sigstore bundle for one blob (a file, or a `sha256:` digest), with
 * cosign's choices of signer: a certificate identity and OIDC issuer, or a public key. The trusted
 * root is a file, or the public-good root shipped offline. Reads files (bounded); returns data, or
 * throws a TrustError (exit status 4).
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { TrustError } from './errors.js';
import {
  verifyBundleForBlob,
  verifyBundleForImage,
  MAX_BUNDLE_BYTES,
  type BundleOutcome,
} from './bundle/index.js';
import type { SignerRequirement } from './bundle/index.js';
import { parsePublicKey } from './key/public-key.js';
import { readBounded } from './policy/load.js';
import { loadTrustedRoot, publicGoodRoot } from './root/index.js';

export interface VerifyBlobOptions {
  /** The bundle file. */
  bundle: string;
  /** A file, or `sha256:<hex>` (a digest only when no such file exists, as cosign reads it). */
  artifact: string;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  /** A PEM public key file. */
  key?: string;
  /** A `trusted_root.json`; the public-good root (offline) when absent. */
  trustedRoot?: string;
}

/** Files up to this size are verified from their bytes; larger ones from their streamed SHA-256. */
export const MAX_IN_MEMORY_ARTIFACT = 64 << 20;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function usage(message: string): TrustError {
  return new TrustError('TRUST_POLICY_INVALID', message, {
    hint: 'give --certificate-identity ID --certificate-oidc-issuer URL, or --key KEY (not both)',
  });
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

function signerOf(o: VerifyBlobOptions): SignerRequirement {
  const hasIdentity = o.certificateIdentity !== undefined || o.certificateOidcIssuer !== undefined;
  if (o.key !== undefined && hasIdentity)
    throw usage('--key and --certificate-identity/--certificate-oidc-issuer cannot be used together');
  if (o.key !== undefined) {
    let pem: Buffer | undefined;
    try {
      pem = readBounded(o.key, 64 * 1024);
    } catch (e) {
      throw new TrustError('TRUST_KEY_INVALID', `--key ${o.key}: ${(e as Error).message}`);
    }
    if (!pem) throw new TrustError('TRUST_KEY_INVALID', `--key ${o.key}: no such file`);
    return { kind: 'key', keys: [parsePublicKey(pem, `--key ${o.key}`)] };
  }
  if (!o.certificateIdentity || !o.certificateOidcIssuer)
    throw usage(
      hasIdentity
        ? 'keyless verification needs both --certificate-identity and --certificate-oidc-issuer'
        : 'say who must have signed: --certificate-identity and --certificate-oidc-issuer, or --key',
    );
  return { kind: 'identity', identity: { subject: o.certificateIdentity, issuer: o.certificateOidcIssuer } };
}

export async function verifyBlob(o: VerifyBlobOptions): Promise<BundleOutcome> {
  const signer = signerOf(o);
  const root = o.trustedRoot !== undefined ? loadTrustedRoot(o.trustedRoot) : publicGoodRoot();
  let bundle: Buffer | undefined;
  try {
    bundle = readBounded(o.bundle, MAX_BUNDLE_BYTES);
  } catch (e) {
    throw new TrustError('TRUST_SIGNATURE_INVALID', `--bundle ${o.bundle}: ${(e as Error).message}`);
  }
  if (!bundle) throw new TrustError('TRUST_UNSIGNED', `--bundle ${o.bundle}: no such file`);
  let outcome: BundleOutcome;
  if (DIGEST.test(o.artifact) && !isFile(o.artifact))
    outcome = verifyBundleForImage(bundle, o.artifact, signer, root);
  else if (!isFile(o.artifact))
    throw new TrustError(
      'TRUST_SIGNATURE_INVALID',
      `${o.artifact}: no such file (and not a sha256:<hex> digest)`,
      {
        hint: 'give the file that was signed, or its digest as sha256:<64 hex digits>',
      },
    );
  else if (statSync(o.artifact).size > MAX_IN_MEMORY_ARTIFACT)
    outcome = verifyBundleForImage(bundle, await sha256File(o.artifact), signer, root);
  else {
    const bytes = readBounded(o.artifact, MAX_IN_MEMORY_ARTIFACT);
    if (!bytes) throw new TrustError('TRUST_SIGNATURE_INVALID', `${o.artifact}: no such file`);
    outcome = verifyBundleForBlob(bundle, bytes, signer, root);
  }
  if (!outcome.ok)
    throw new TrustError(
      outcome.code ?? 'TRUST_SIGNATURE_INVALID',
      `${o.bundle}: ${outcome.reason ?? 'does not verify'}`,
      {
        details: { bundle: outcome.bundle, stage: outcome.stage, trustedRoot: root.source },
      },
    );
  return outcome;
}
