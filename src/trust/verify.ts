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
import { lookup } from './policy/scope.js';
import { readBounded } from './policy/load.js';
import type { KeySource, Requirement, SigstoreSigned, TrustPolicy } from './policy/types.js';

/** Where signatures come from (the registry, or a test). Called at most once per decision. */
export interface SignatureSource {
  cosignSignatures(): Promise<SignatureLayer[]>;
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
  attestations: unknown[];
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

function material(req: SigstoreSigned): Material {
  return {
    keys: req.keys.map((k) => loadKey(k, 'key')),
    rekorKeys: req.rekorKeys.map((k) => loadKey(k, 'Rekor key')),
  };
}

const best = (xs: SignatureOutcome[]) => xs.reduce((a, b) => (b.stage > a.stage ? b : a));

async function checkSigstore(
  req: SigstoreSigned,
  intended: ImageReference,
  digest: string,
  signatures: () => Promise<SignatureLayer[]>,
  checked: SignatureOutcome[],
  passed: SignatureFact[],
): Promise<RequirementResult> {
  const base = { type: req.type } as const;
  if (req.fulcio || (req.keys.length === 0 && req.trustedRoot))
    return {
      ...base,
      ok: false,
      code: 'TRUST_POLICY_INVALID',
      reason: 'keyless (fulcio) requirements are not verified by this build of moat yet: use keyPath/keyData',
    };
  const mat = material(req);
  const layers = await signatures();
  if (layers.length === 0)
    return { ...base, ok: false, code: 'TRUST_UNSIGNED', reason: `no signature found for ${digest}` };
  const outcomes = layers.map((l) => checkKeySignature(l, req, mat, intended, digest));
  checked.push(...outcomes);
  const good = outcomes.filter((o) => o.ok);
  if (good.length === 0) {
    const b = best(outcomes);
    return { ...base, ok: false, code: b.code, reason: b.reason };
  }
  for (const g of good)
    passed.push({ kind: 'key', key_id: g.keyId, identity: g.identity, ...(g.tlog ? { tlog: g.tlog } : {}) });
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
        results.push(await checkSigstore(req, intended, digest, signatures, checked, passed));
      } catch (e) {
        if (!isTrustError(e)) throw e;
        results.push({ type: req.type, ok: false, code: e.code, reason: e.message });
      }
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
    attestations: [],
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
