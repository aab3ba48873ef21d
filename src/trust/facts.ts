/**
 * The trust decision a run relies on, read from the verification records (never made here: no
 * registry, no network) and the shape the admission policy reads it in
 * (`facts.image.signature`). Kept apart from image.ts so a run does not load the registry client.
 */
import { parseReference } from '../image/reference.js';
import { TrustError } from './errors.js';
import { lookup } from './policy/scope.js';
import type { TrustPolicy } from './policy/types.js';
import type { TrustRecords } from './record.js';
import type { TrustResult } from './verify.js';

/** What the admission policy reads as `facts.image.signature`. */
export interface SignatureFacts {
  /** The trust policy lets this image run under this name. */
  accepted: boolean;
  verified: boolean;
  policy: string;
  policy_digest: string;
  scope: { transport: string; scope?: string; kind: string } | null;
  requirements: { type: string; ok: boolean; reason?: string }[];
  signatures: TrustResult['signatures'];
  attestations: unknown[];
  /** The name the decision is for. */
  reference: string | null;
  error: { code: string; message: string } | null;
}

/**
 * The trust decision recorded for a stored image under one of its names, read (never made) for a
 * run: a scope that asks for no signature is accepted as is, one that rejects is rejected, and
 * one that asks for signatures needs a recorded verification of this digest, under this policy,
 * for this name (`TRUST_NOT_VERIFIED` otherwise). `names`: the names the run may go by (the one
 * typed, or all of the image's when it is run by ID); the first accepted one wins.
 */
export function recordedTrust(
  policy: TrustPolicy,
  records: TrustRecords,
  manifestDigest: string,
  names: string[],
): SignatureFacts {
  const base = { policy: policy.source, policy_digest: policy.digest, attestations: [] as unknown[] };
  let first: SignatureFacts | undefined;
  for (const name of names) {
    let ref;
    try {
      ref = parseReference(name);
    } catch {
      continue;
    }
    if (!ref.host) continue;
    const m = lookup(policy, ref);
    const scope = {
      transport: m.transport,
      ...(m.scope !== undefined ? { scope: m.scope } : {}),
      kind: m.kind,
    };
    let f: SignatureFacts;
    if (m.requirements.length > 0 && m.requirements.every((r) => r.type === 'insecureAcceptAnything'))
      f = {
        ...base,
        accepted: true,
        verified: false,
        scope,
        requirements: m.requirements.map((r) => ({ type: r.type, ok: true })),
        signatures: [],
        reference: name,
        error: null,
      };
    else {
      const rec = records.get(manifestDigest, policy.digest, name);
      if (rec)
        f = {
          ...base,
          accepted: rec.accepted,
          verified: rec.verified,
          scope: rec.scope,
          requirements: rec.requirements.map((r) => ({
            type: r.type,
            ok: r.ok,
            ...(r.reason ? { reason: r.reason } : {}),
          })),
          signatures: rec.signatures,
          attestations: rec.attestations,
          reference: name,
          error: rec.error ?? null,
        };
      else {
        const rejects = m.requirements.length === 0 || m.requirements.some((r) => r.type === 'reject');
        f = {
          ...base,
          accepted: false,
          verified: false,
          scope,
          requirements: m.requirements.map((r) => ({ type: r.type, ok: false })),
          signatures: [],
          reference: name,
          error: rejects
            ? {
                code: 'TRUST_REJECTED',
                message: `the trust policy rejects images in ${m.scope !== undefined ? `scope ${JSON.stringify(m.scope)}` : 'its default scope'}`,
              }
            : {
                code: 'TRUST_NOT_VERIFIED',
                message: `${name} has not been verified against the trust policy in force (${policy.source})`,
              },
        };
      }
    }
    if (f.accepted) return f;
    first ??= f;
  }
  return (
    first ?? {
      ...base,
      accepted: policyAcceptsUnnamed(policy),
      verified: false,
      scope: null,
      requirements: [],
      signatures: [],
      reference: null,
      error: policyAcceptsUnnamed(policy)
        ? null
        : { code: 'TRUST_NOT_VERIFIED', message: 'the image has no registry name to verify it under' },
    }
  );
}

/** An image with no registry name (built or imported locally) is judged by the policy's default. */
function policyAcceptsUnnamed(p: TrustPolicy): boolean {
  return p.default.length > 0 && p.default.every((r) => r.type === 'insecureAcceptAnything');
}

/** Throws the TRUST_* refusal for facts that do not accept the image. */
export function assertFactsAccepted(f: SignatureFacts, what: string): void {
  if (f.accepted) return;
  const code = (f.error?.code ?? 'TRUST_REJECTED') as ConstructorParameters<typeof TrustError>[0];
  throw new TrustError(code, `${what}: ${f.error?.message ?? 'rejected by the trust policy'}`, {
    details: { reference: f.reference, scope: f.scope, policy: f.policy },
  });
}
