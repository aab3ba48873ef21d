/**
 * Who a certificate says signed: its subject alternative name and the OIDC issuer Fulcio recorded
 * (extension 1.3.6.1.4.1.57264.1.8, or the legacy 1.3.6.1.4.1.57264.1.1). The policy's values are
 * compared with these exactly — whole strings, no patterns, no case folding — so an identity that
 * merely contains the allowed one (`evil-alice@example.com.attacker.net`) is refused.
 * (`@sigstore/verify` matches a SAN as an unanchored regular expression: moat passes it no policy.)
 */
import type { Signer } from '@sigstore/verify';

export interface CertificateIdentity {
  /** The SAN: an email address or a URI (a workflow's, for CI identities). */
  subject: string;
  issuer: string;
}

export interface IdentityCheck {
  ok: boolean;
  reason?: string;
  subject?: string;
  issuer?: string;
}

/** The identity a verified signer's certificate names (undefined parts when absent). */
export function signerIdentity(signer: Signer): { subject?: string; issuer?: string } {
  return {
    subject: signer.identity?.subjectAlternativeName,
    issuer: signer.identity?.extensions?.issuer,
  };
}

/** Exact, anchored comparison of a signer's certificate identity with the wanted one. */
export function checkIdentity(signer: Signer, want: CertificateIdentity): IdentityCheck {
  const { subject, issuer } = signerIdentity(signer);
  if (subject === undefined || subject === '')
    return { ok: false, reason: 'the signing certificate has no subject alternative name' };
  if (issuer === undefined || issuer === '')
    return { ok: false, subject, reason: 'the signing certificate has no OIDC issuer extension' };
  if (subject !== want.subject)
    return {
      ok: false,
      subject,
      issuer,
      reason: `the certificate is for ${JSON.stringify(subject)}, not ${JSON.stringify(want.subject)}`,
    };
  if (issuer !== want.issuer)
    return {
      ok: false,
      subject,
      issuer,
      reason: `the certificate's OIDC issuer is ${JSON.stringify(issuer)}, not ${JSON.stringify(want.issuer)}`,
    };
  return { ok: true, subject, issuer };
}
