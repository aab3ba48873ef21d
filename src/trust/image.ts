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
import { getManifest, openRepo, resolveDigest, type Repo } from './registry/repo.js';
import {
  ATTACHMENTS,
  fetchCosignAttestations,
  fetchCosignSignatures,
  pushCosignSignature,
} from './registry/signatures.js';
import {
  BUNDLE_ARTIFACT_TYPE,
  attachReferrer,
  fetchReferrerBundles,
  type Referrer,
} from './registry/referrers.js';
import { bundleRole } from './attest/role.js';
import { makeStatement, predicateTypeOf, readPredicate, signatureStatement } from './attest/statement.js';
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
  // The referrers are listed once: signature bundles go to the requirements, in-toto
  // attestations to the attestation check.
  let referrers: Promise<Referrer[]> | undefined;
  const bundles = async (role: 'signature' | 'attestation') =>
    (await (referrers ??= fetchReferrerBundles(repo, digest!)))
      .map((r) => r.blob)
      .filter((b) => bundleRole(b) === role);
  return evaluateTrust(policy, name, digest ?? '', {
    cosignSignatures: () => fetchCosignSignatures(repo, digest!),
    bundles: () => bundles('signature'),
    attestations: async () => ({
      bundles: await bundles('attestation'),
      layers: await fetchCosignAttestations(repo, digest!),
    }),
  });
}

export interface SignOptions extends RegistryAccess {
  key: string;
  password?: string;
  /** Extra `optional` fields of the payload (cosign's -a KEY=VALUE). */
  annotations?: Record<string, string>;
  /** Attach a sigstore bundle as an OCI referrer instead of a `.sig` signature. */
  bundle?: boolean;
}

export interface SignResult {
  reference: string;
  digest: string;
  keyId: string;
  signatureManifest: string;
  signatures: number;
  /** `bundle`: a referrer (the manifest pushed by digest); else the `.sig` attachment. */
  format: 'simplesigning' | 'bundle';
}

/** Signs the image `reference` names in its registry (its manifest only) with a key file. */
export async function signRemote(reference: string, o: SignOptions): Promise<SignResult> {
  const key = loadSigningKey(o.key, o.password);
  const repo = await openRepo(reference, { ...o, push: true });
  if (o.bundle) return signBundleRemote(repo, key);
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
      format: 'simplesigning',
    };
  } catch (e) {
    if (e instanceof TrustError) throw e;
    throw new TrustError('TRUST_SIGN_FAILED', `signing ${name}: ${(e as Error).message}`, { cause: e });
  }
}

/** The image manifest a signature is about, as the subject descriptor of a referrer. */
async function subjectOf(repo: Repo): Promise<{ digest: string; size: number; mediaType: string }> {
  const ref = repo.target.digest ?? repo.target.tag ?? 'latest';
  const m = await getManifest(repo, ref);
  if (!m)
    throw new TrustError('TRUST_SIGN_FAILED', `${repo.name}:${ref} not found in the registry`, {
      hint: 'push the image first, and check the name',
    });
  return { digest: m.digest, size: m.bytes.length, mediaType: m.mediaType };
}

/** Signing statements needs @sigstore/bundle: loaded only by the commands that sign them. */
const dsse = () => import('./sign/dsse.js');

const failed = (name: string, e: unknown): TrustError =>
  e instanceof TrustError
    ? e
    : new TrustError('TRUST_SIGN_FAILED', `signing ${name}: ${(e as Error).message}`, { cause: e });

/**
 * `moat sign --bundle`: cosign's signature statement (subject: the manifest digest) in a DSSE
 * envelope signed with the key, as a sigstore bundle v0.3 with no log entry, attached as a
 * referrer (cosign's bundle spec), the referrers tag's index appended to.
 */
async function signBundleRemote(repo: Repo, key: ReturnType<typeof loadSigningKey>): Promise<SignResult> {
  const name = trustName(repo);
  try {
    const subject = await subjectOf(repo);
    const { signBundle } = await dsse();
    const bundle = signBundle(key, signatureStatement(repo.name, subject.digest));
    const r = await attachReferrer(repo, subject, BUNDLE_ARTIFACT_TYPE, bundle, {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      'org.opencontainers.image.created': new Date().toISOString(),
    });
    return {
      reference: name,
      digest: subject.digest,
      keyId: key.pub.id,
      signatureManifest: r.manifestDigest,
      signatures: r.referrers,
      format: 'bundle',
    };
  } catch (e) {
    throw failed(name, e);
  }
}

export interface AttestOptions extends RegistryAccess {
  key: string;
  password?: string;
  /** The predicate file (JSON; for `custom`, any text). */
  predicate: string;
  /** cosign's --type name (slsaprovenance, spdxjson, cyclonedx, custom, ...) or a predicate type URI. */
  type: string;
}

export interface AttestResult {
  reference: string;
  digest: string;
  keyId: string;
  predicateType: string;
  attestationManifest: string;
  attestations: number;
}

/**
 * `moat attest`: an in-toto statement (subject: the image's manifest digest, the predicate from
 * the file) in a DSSE envelope signed with the key, appended to the image's `.att` attachment as
 * `cosign attest` does (existing attestations kept). Only the manifest is read.
 */
export async function attestRemote(reference: string, o: AttestOptions): Promise<AttestResult> {
  const predicateType = predicateTypeOf(o.type);
  const predicate = readPredicate(o.predicate, predicateType);
  const key = loadSigningKey(o.key, o.password);
  const repo = await openRepo(reference, { ...o, push: true });
  const name = trustName(repo);
  try {
    const digest = await resolveDigest(repo);
    const { signEnvelope } = await dsse();
    const envelope = signEnvelope(key, makeStatement(repo.name, digest, predicateType, predicate));
    const r = await pushCosignSignature(
      repo,
      digest,
      envelope,
      { [ANNOTATION_SIGNATURE]: '', predicateType },
      ATTACHMENTS.att,
    );
    return {
      reference: name,
      digest,
      keyId: key.pub.id,
      predicateType,
      attestationManifest: r.manifestDigest,
      attestations: r.signatures,
    };
  } catch (e) {
    throw failed(name, e);
  }
}
