/**
 * The trust decision for one image: find the scope of its reference in the trust policy, and
 * require every requirement there to pass (an empty list rejects). A `sigstoreSigned`
 * requirement passes when at least one signature attached to the image's manifest digest passes
 * all its checks. Signatures are fetched once, only when a requirement needs them.
 *
 * The result is plain data: it is recorded with the image (keyed by manifest digest and policy
 * digest), shown by `moat verify`, and read by the admission policy as `facts.image.signature`.
 */
import { parseReference, type ImageReference } from '../image/reference.js';
import { TrustError, isTrustError, type TrustErrorCode } from './errors.js';
import {
  checkKeySignature,
  type Material,
  type SignatureLayer,
  type SignatureOutcome,
} from './cosign/verify.js';
import { parsePublicKey, decodeBase64, type PublicKey } from './key/public-key.js';
import type { SignerRequirement } from './bundle/index.js';
import type { AttestationCheck, AttestationFact, AttestationVerifier } from './attest/verify.js';
import { lookup } from './policy/scope.js';
import { readBounded } from './policy/load.js';
import type { KeySource, Requirement, SigstoreSigned, TrustPolicy } from './policy/types.js';

/** Where signatures come from (the registry, or a test). Each called at most once per decision. */
export interface SignatureSource {
  cosignSignatures(): Promise<SignatureLayer[]>;
  /**
   * Sigstore bundles attached to the image's digest (OCI 1.1 referrers, or the `sha256-<hex>` tag
   * fallback), each the bytes of one bundle. Optional: a source without it has no bundles.
   */
  bundles?(): Promise<Buffer[]>;
  /**
   * Attestations attached to the image's digest: cosign's `.att` layers (DSSE envelopes) and
   * in-toto bundle referrers. Verified with the scope's requirements (attest/verify.ts).
   */
  attestations?(): Promise<{ bundles: Buffer[]; layers: SignatureLayer[] }>;
}

export interface RequirementResult {
  type: Requirement['type'];
  ok: boolean;
  code?: TrustErrorCode;
  reason?: string;
}

export interface SignatureFact {
  kind: 'key' | 'keyless' | 'bundle';
  key_id?: string;
  subject?: string;
  issuer?: string;
  /** The image name the signature claims. */
  identity?: string;
  tlog?: { integrated_time: number; log_id: string; log_index: number };
}

export interface TrustResult {
  /** The trust policy lets the image run. */
  accepted: boolean;
  /** Accepted because signatures were verified (not merely accepted without looking). */
  verified: boolean;
  reference: string;
  digest: string;
  policy: { source: string; digest: string };
  scope: { transport: string; scope?: string; kind: string };
  requirements: RequirementResult[];
  /** The signatures that passed a requirement. */
  signatures: SignatureFact[];
  /** Every signature looked at, with what became of it (for `moat verify`). */
  checked: SignatureOutcome[];
  /** The attestations that verified (the admission policy's `attestations`). */
  attestations: AttestationFact[];
  /** Every attestation looked at, with what became of it (for `moat verify`). */
  checkedAttestations?: AttestationCheck[];
  error?: { code: TrustErrorCode; message: string };
  /** ISO time of the verification. */
  at: string;
}

/** Loads the PEM a key source names (a file next to the policy, or base64 of the PEM inline). */
export function loadKey(src: KeySource, what: string): PublicKey {
  if ('path' in src) {
    let bytes: Buffer | undefined;
    try {
      bytes = readBounded(src.path, 64 * 1024);
    } catch (e) {
      throw new TrustError('TRUST_KEY_INVALID', `${what} ${src.path}: ${(e as Error).message}`);
    }
    if (!bytes) throw new TrustError('TRUST_KEY_INVALID', `${what} ${src.path}: no such file`);
    return parsePublicKey(bytes, `${what} ${src.path}`);
  }
  let pem: Buffer;
  try {
    pem = decodeBase64(src.data, what, 64 * 1024);
  } catch {
    throw new TrustError('TRUST_KEY_INVALID', `${what} (inline data): not valid base64 of a PEM key`);
  }
  return parsePublicKey(pem, `${what} (inline data)`);
}

async function material(req: SigstoreSigned): Promise<Material> {
  const rekorKeys = req.rekorKeys.map((k) => loadKey(k, 'Rekor key'));
  return {
    keys: req.keys.map((k) => loadKey(k, 'key')),
    // A trustedRoot beside keys gives the Rekor keys.
    rekorKeys:
      req.trustedRoot && rekorKeys.length === 0
        ? (await evidence()).trustedRootRekorKeys(req.trustedRoot)
        : rekorKeys,
  };
}

/**
 * Keyless certificates, sigstore bundles and trusted roots need @sigstore/verify and its
 * protobuf types (~0.3 s to load): loaded only when a requirement or the evidence needs them, so
 * key-signed images, runs and every other command never pay for it.
 */
const evidence = () => import('./evidence.js');

function factOf(o: SignatureOutcome): SignatureFact {
  return {
    kind: o.kind,
    ...(o.keyId ? { key_id: o.keyId } : {}),
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
    ...(o.tlog ? { tlog: o.tlog } : {}),
  };
}

const best = (xs: SignatureOutcome[]) => xs.reduce((a, b) => (b.stage > a.stage ? b : a));

/**
 * Who must have signed, as the bundle verifier takes it. A key requirement that names no Rekor
 * key does not consult the log (as for `.sig` signatures): a key-signed bundle without a log
 * entry passes it, and only it; one that names Rekor keys needs a log entry.
 */
function signerFor(req: SigstoreSigned, mat: Material): SignerRequirement {
  return req.fulcio
    ? { kind: 'identity', identity: { subject: req.fulcio.subjectEmail, issuer: req.fulcio.oidcIssuer } }
    : { kind: 'key', keys: mat.keys, requireTlog: mat.rekorKeys.length > 0 };
}

/** The verifiers of the scope's sigstoreSigned requirements whose material loads, for attestations. */
async function attestationVerifiers(reqs: Requirement[]): Promise<AttestationVerifier[]> {
  const out: AttestationVerifier[] = [];
  for (const req of reqs) {
    if (req.type !== 'sigstoreSigned') continue;
    try {
      const mat = await material(req);
      out.push({
        signer: signerFor(req, mat),
        root: (await evidence()).rootFor(req, mat.rekorKeys),
        useSet: !!req.fulcio || mat.rekorKeys.length > 0,
      });
    } catch (e) {
      if (!isTrustError(e)) throw e; // the requirement failed with it already
    }
  }
  return out;
}

async function checkSigstore(
  req: SigstoreSigned,
  intended: ImageReference,
  digest: string,
  signatures: () => Promise<SignatureLayer[]>,
  bundles: () => Promise<Buffer[]>,
  checked: SignatureOutcome[],
  passed: SignatureFact[],
): Promise<RequirementResult> {
  const base = { type: req.type } as const;
  const mat = await material(req);
  const identity = req.fulcio
    ? { subject: req.fulcio.subjectEmail, issuer: req.fulcio.oidcIssuer }
    : undefined;
  const signer = signerFor(req, mat);
  const [layers, found] = await Promise.all([signatures(), bundles()]);
  if (layers.length === 0 && found.length === 0)
    return { ...base, ok: false, code: 'TRUST_UNSIGNED', reason: `no signature found for ${digest}` };
  const heavy = identity || found.length ? await evidence() : undefined;
  const root = heavy?.rootFor(req, mat.rekorKeys);
  const outcomes = [
    ...layers.map((l) =>
      identity
        ? heavy!.checkKeylessSignature(l, req, identity, root!, intended, digest)
        : checkKeySignature(l, req, mat, intended, digest),
    ),
    ...found.map((b) => heavy!.checkBundle(b, digest, signer, root!)),
  ];
  checked.push(...outcomes);
  const good = outcomes.filter((o) => o.ok);
  if (good.length === 0) {
    const b = best(outcomes);
    return { ...base, ok: false, code: b.code, reason: b.reason };
  }
  for (const g of good) passed.push(factOf(g));
  return { ...base, ok: true };
}

/** Decides whether `reference` (resolved to manifest `digest`) may be used under `policy`. */
export async function evaluateTrust(
  policy: TrustPolicy,
  reference: string,
  digest: string,
  source: SignatureSource,
): Promise<TrustResult> {
  const intended = parseReference(reference);
  const match = lookup(policy, intended);
  let fetched: Promise<SignatureLayer[]> | undefined;
  const signatures = () => (fetched ??= source.cosignSignatures());
  let fetchedBundles: Promise<Buffer[]> | undefined;
  const bundles = () => (fetchedBundles ??= source.bundles ? source.bundles() : Promise.resolve([]));
  const checked: SignatureOutcome[] = [];
  const passed: SignatureFact[] = [];
  const results: RequirementResult[] = [];
  for (const req of match.requirements) {
    if (req.type === 'insecureAcceptAnything') results.push({ type: req.type, ok: true });
    else if (req.type === 'reject')
      results.push({
        type: req.type,
        ok: false,
        code: 'TRUST_REJECTED',
        reason: `the trust policy rejects images in ${match.scope !== undefined ? `scope ${JSON.stringify(match.scope)}` : 'its default scope'}`,
      });
    else {
      try {
        results.push(await checkSigstore(req, intended, digest, signatures, bundles, checked, passed));
      } catch (e) {
        if (!isTrustError(e)) throw e;
        results.push({ type: req.type, ok: false, code: e.code, reason: e.message });
      }
    }
  }
  // Attestations are verified only where signers are required, and are looked for only then.
  let attested: { attestations: AttestationFact[]; checked: AttestationCheck[] } | undefined;
  if (source.attestations && match.requirements.some((r) => r.type === 'sigstoreSigned')) {
    try {
      const found = await source.attestations();
      if (found.bundles.length || found.layers.length)
        attested = (await import('./attest/verify.js')).verifyAttestations(
          found,
          digest,
          await attestationVerifiers(match.requirements),
        );
    } catch (e) {
      // Attestations that cannot be read are reported, and the signatures decide alone.
      if (!isTrustError(e)) throw e;
      attested = {
        attestations: [],
        checked: [{ source: 'att', id: '', ok: false, code: e.code, reason: e.message }],
      };
    }
  }
  if (results.length === 0)
    results.push({
      type: 'reject',
      ok: false,
      code: 'TRUST_REJECTED',
      reason: `scope ${JSON.stringify(match.scope ?? 'default')} has no requirements (an empty list rejects)`,
    });
  const failed = results.find((r) => !r.ok);
  const accepted = !failed;
  return {
    accepted,
    verified: accepted && results.some((r) => r.type === 'sigstoreSigned'),
    reference,
    digest,
    policy: { source: policy.source, digest: policy.digest },
    scope: {
      transport: match.transport,
      ...(match.scope !== undefined ? { scope: match.scope } : {}),
      kind: match.kind,
    },
    requirements: results,
    signatures: passed,
    checked,
    attestations: attested?.attestations ?? [],
    ...(attested ? { checkedAttestations: attested.checked } : {}),
    ...(failed
      ? { error: { code: failed.code ?? 'TRUST_REJECTED', message: failed.reason ?? 'rejected' } }
      : {}),
    at: new Date().toISOString(),
  };
}

/** Throws the refusal a rejected result stands for (exit status 4). */
export function assertAccepted(r: TrustResult): void {
  if (r.accepted) return;
  const e = r.error ?? { code: 'TRUST_REJECTED' as const, message: 'rejected' };
  throw new TrustError(e.code, `${r.reference}: ${e.message}`, {
    details: { reference: r.reference, digest: r.digest, scope: r.scope, policy: r.policy.source },
  });
}
