/**
 * The trust policy: the containers-policy.json format (containers/image `signature/policy_types.go`,
 * documented in containers-policy.json(5)) that podman, skopeo and buildah read, so an existing
 * file works unchanged. moat reads the `docker` transport (images from registries) and treats
 * every other transport's scopes as parsed but unused. One extension: `trustedRoot` in a
 * `sigstoreSigned` requirement (a sigstore `trusted_root.json` standing in for the Fulcio CA and
 * Rekor key files).
 */

/** How the identity a signature claims must relate to the reference being verified. */
export type SignedIdentity =
  | { type: 'matchExact' }
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

/** A key given inline (`keyData`: base64 of the PEM) or as a file (resolved to an absolute path). */
export type KeySource = { path: string } | { data: string };

export interface FulcioSource {
  /** The CA certificate(s), PEM: a file or inline (base64 of the PEM). */
  ca: KeySource;
  oidcIssuer: string;
  subjectEmail: string;
}

export interface SigstoreSigned {
  type: 'sigstoreSigned';
  /** Public keys: a signature made with any one of them is accepted. Empty when `fulcio` is used. */
  keys: KeySource[];
  fulcio?: FulcioSource;
  /** Rekor public keys: when set, a signature must carry a transparency-log entry signed by one. */
  rekorKeys: KeySource[];
  /** moat's extension: a sigstore trusted root (Fulcio CAs and Rekor keys) as one file. */
  trustedRoot?: string;
  signedIdentity: SignedIdentity;
}

export type Requirement = { type: 'insecureAcceptAnything' } | { type: 'reject' } | SigstoreSigned;

export type Requirements = Requirement[];

export interface TrustPolicy {
  /** The file it was read from, or `builtin`. */
  source: string;
  /** sha256 of the file's bytes (or of the built-in default): verification records are keyed by it. */
  digest: string;
  default: Requirements;
  /** transport → scope → requirements (`""`: the transport's default). */
  transports: Record<string, Record<string, Requirements>>;
}

/** Where a lookup landed, and why (for `moat trust show` and the policy's facts). */
export interface ScopeMatch {
  transport: string;
  /** The matching scope as written in the file, `""` for the transport default, undefined for `default`. */
  scope?: string;
  /** How the scope matched: `exact reference`, `repository`, `namespace`, `wildcard`, `transport default`, `default`. */
  kind: 'exact reference' | 'repository' | 'namespace' | 'wildcard' | 'transport default' | 'default';
  requirements: Requirements;
}
