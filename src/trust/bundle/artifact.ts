/**
 * A bundle for a thing: an image (its manifest digest) or a blob (its bytes or digest). The
 * signature must bind that thing: a message signature's digest, or, for a DSSE envelope, one of
 * the in-toto statement's subjects — checked here, by moat, with the same digest comparison.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { TrustErrorCode } from '../errors.js';
import type { TrustRoot } from '../root/index.js';
import { parseStatement, namesSubject, type Statement } from './intoto.js';
import { parseBundle } from './parse.js';
import { verifyBundle, type Artifact, type BundleCheck, type SignerRequirement } from './verify.js';

export interface BundleOutcome extends BundleCheck {
  kind: 'bundle';
  /** sha256 of the bundle's bytes: names it in reports. */
  bundle: string;
  mediaType?: string;
  /** For DSSE bundles: the statement's predicate type and predicate (attestations). */
  predicateType?: string;
  predicate?: unknown;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

function run(
  bundleBytes: Buffer | string,
  art: Artifact,
  req: SignerRequirement,
  root: TrustRoot,
): BundleOutcome {
  const id = `sha256:${createHash('sha256').update(bundleBytes).digest('hex')}`;
  const out: BundleOutcome = { ok: false, stage: 0, kind: 'bundle', bundle: id };
  const fail = (code: TrustErrorCode, reason: string): BundleOutcome => ({ ...out, code, reason });
  let bundle: Bundle;
  try {
    bundle = parseBundle(bundleBytes);
  } catch (e) {
    return fail('TRUST_SIGNATURE_INVALID', (e as Error).message);
  }
  out.mediaType = bundle.mediaType;
  let statement: Statement | undefined;
  if (bundle.content.$case === 'dsseEnvelope') {
    const env = bundle.content.dsseEnvelope;
    try {
      statement = parseStatement(env.payloadType, env.payload);
    } catch (e) {
      return fail('TRUST_SIGNATURE_INVALID', `sigstore bundle: ${(e as Error).message}`);
    }
  }
  const check = verifyBundle(bundle, bundle.content.$case === 'dsseEnvelope' ? undefined : art, req, root);
  const result: BundleOutcome = { ...out, ...check, kind: 'bundle', bundle: id };
  if (!check.ok || !statement) return result;
  // Only a verified statement is read for what it names.
  if (!namesSubject(statement, art.sha256.toString('hex')))
    return {
      ...result,
      ok: false,
      stage: 3,
      code: 'TRUST_SIGNATURE_INVALID',
      reason: `the in-toto statement is about another artifact: no subject has digest sha256:${art.sha256.toString('hex')}`,
    };
  return {
    ...result,
    ...(statement.predicateType ? { predicateType: statement.predicateType } : {}),
    ...(statement.predicate !== undefined ? { predicate: statement.predicate } : {}),
  };
}

/** A `sha256:<hex>` digest as bytes, or undefined if it is not one. */
export function parseDigest(s: string): Buffer | undefined {
  const m = DIGEST.exec(s);
  return m ? Buffer.from(m[1], 'hex') : undefined;
}

/**
 * Verifies a bundle attached to an image: it must sign the manifest with digest `digest`
 * (`sha256:<hex>`), directly (message signature) or as an in-toto subject (DSSE).
 */
export function verifyBundleForImage(
  bundleJson: Buffer | string,
  digest: string,
  req: SignerRequirement,
  root: TrustRoot,
): BundleOutcome {
  const sha256 = parseDigest(digest);
  if (!sha256)
    return {
      ok: false,
      stage: 0,
      kind: 'bundle',
      bundle: `sha256:${createHash('sha256').update(bundleJson).digest('hex')}`,
      code: 'TRUST_SIGNATURE_INVALID',
      reason: `${JSON.stringify(digest)} is not a sha256 manifest digest`,
    };
  return run(bundleJson, { sha256 }, req, root);
}

/** Verifies a bundle for a blob: its bytes, or its digest (`sha256:<hex>`). */
export function verifyBundleForBlob(
  bundleJson: Buffer | string,
  blob: Buffer | string,
  req: SignerRequirement,
  root: TrustRoot,
): BundleOutcome {
  if (typeof blob === 'string') return verifyBundleForImage(bundleJson, blob, req, root);
  return run(bundleJson, { bytes: blob, sha256: createHash('sha256').update(blob).digest() }, req, root);
}
