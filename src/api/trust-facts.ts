/**
 * `facts.image.signature`: the trust decision for the image a request names, read from the
 * verification records (src/trust/record.ts) under the trust policy in force — never made here:
 * facts are reads, and verification (a registry round trip) happens at pull, `moat verify` and
 * `moat sign`. The trust policy is the moat instance's own (`--trust`/`$MOAT_TRUST`, the user's
 * file, /etc/containers/policy.json, the built-in default): no request chooses it.
 */
import type { ImageRecord } from '../image/types.js';
import type { Engine } from '../runtime/engine.js';
import { TrustRecords } from '../trust/record.js';
import { loadTrustPolicy } from '../trust/policy/load.js';
import { recordedTrust, type SignatureFacts } from '../trust/facts.js';

/** The names a run of `reference` goes by: the one typed, or every name when it is run by ID. */
function candidateNames(rec: ImageRecord, reference: string): string[] {
  if (reference !== rec.id && !reference.startsWith('sha256:')) return [reference];
  return [...rec.names, ...(rec.repoDigests ?? [])];
}

export function signatureFacts(engine: Engine, rec: ImageRecord, reference: string): SignatureFacts {
  let policy;
  try {
    policy = loadTrustPolicy();
  } catch (e) {
    // A broken trust policy accepts nothing (fail closed); the error says what to fix.
    const err = e as { code?: string; message?: string };
    return {
      accepted: false,
      verified: false,
      policy: 'invalid',
      policy_digest: '',
      scope: null,
      requirements: [],
      signatures: [],
      attestations: [],
      reference,
      error: { code: err.code ?? 'TRUST_POLICY_INVALID', message: err.message ?? String(e) },
    };
  }
  return recordedTrust(
    policy,
    new TrustRecords(engine.deps.images.root),
    rec.manifestDigest,
    candidateNames(rec, reference),
  );
}

/** Verified signer identities, for rules that match on them (`facts.image.signers`). */
export function signersOf(f: SignatureFacts): string[] {
  if (!f.accepted || !f.verified) return [];
  return f.signatures
    .map((s) => (s.subject ? `${s.subject}${s.issuer ? ` (${s.issuer})` : ''}` : (s.key_id ?? '')))
    .filter(Boolean);
}
