/**
 * Trust operations on registry images, as the routes call them: verify an image (resolve its
 * manifest digest, fetch its signatures, decide under the trust policy), sign one (a cosign
 * signature appended to its `.sig` attachment), and read the verification a run relies on from
 * the records. Only manifests and signatures are fetched, never layers.
 */
import { parseReference } from '../image/reference.js';
import type { RegistriesConfig } from '../image/registry/index.js';
import { TrustError } from './errors.js';
import { makePayload } from './cosign/payload.js';
import { ANNOTATION_SIGNATURE } from './cosign/verify.js';
import { lookup } from './policy/scope.js';
import type { TrustPolicy } from './policy/types.js';
import { openRepo, resolveDigest, type Repo } from './registry/repo.js';
import { fetchCosignSignatures, pushCosignSignature } from './registry/signatures.js';
import { loadSigningKey, signData } from './sign/keys.js';
import { evaluateTrust, type TrustResult } from './verify.js';

export interface RegistryAccess {
  cfg?: RegistriesConfig;
  tlsVerify?: boolean;
}

/** The canonical name a reference is verified and signed under: `registry/repo:tag` or `registry/repo@digest`. */
export function trustName(repo: Repo): string {
  const t = repo.target;
  return t.tag ? `${repo.name}:${t.tag}` : `${repo.name}@${t.digest!}`;
}

/** Verifies `reference` against the registry now. `digest` pins the manifest (else the tag's current one). */
export async function verifyRemote(
  policy: TrustPolicy,
  reference: string,
  o: RegistryAccess & { digest?: string } = {},
): Promise<TrustResult> {
  const repo = await openRepo(reference, o);
  const name = trustName(repo);
  // A scope that asks for nothing from the registry is decided without it.
  const needs = lookup(policy, parseReference(name)).requirements.some((r) => r.type === 'sigstoreSigned');
  const digest = o.digest ?? repo.target.digest ?? (needs ? await resolveDigest(repo) : undefined);
  return evaluateTrust(policy, name, digest ?? '', {
    cosignSignatures: () => fetchCosignSignatures(repo, digest!),
  });
}

export interface SignOptions extends RegistryAccess {
  key: string;
  password?: string;
  /** Extra `optional` fields of the payload (cosign's -a KEY=VALUE). */
  annotations?: Record<string, string>;
}

export interface SignResult {
  reference: string;
  digest: string;
  keyId: string;
  signatureManifest: string;
  signatures: number;
}

/** Signs the image `reference` names in its registry (its manifest only) with a key file. */
export async function signRemote(reference: string, o: SignOptions): Promise<SignResult> {
  const key = loadSigningKey(o.key, o.password);
  const repo = await openRepo(reference, { ...o, push: true });
  const digest = await resolveDigest(repo);
  const name = trustName(repo);
  const identity = repo.target.tag ? name : repo.name;
  const payload = makePayload(
    identity,
    digest,
    o.annotations && Object.keys(o.annotations).length ? o.annotations : undefined,
  );
  const sig = signData(key, payload).toString('base64');
  try {
    const r = await pushCosignSignature(repo, digest, payload, { [ANNOTATION_SIGNATURE]: sig });
    return {
      reference: name,
      digest,
      keyId: key.pub.id,
      signatureManifest: r.manifestDigest,
      signatures: r.signatures,
    };
  } catch (e) {
    if (e instanceof TrustError) throw e;
    throw new TrustError('TRUST_SIGN_FAILED', `signing ${name}: ${(e as Error).message}`, { cause: e });
  }
}

