/**
 * The in-toto statements moat signs: about one image (its repository as the subject's name, its
 * manifest digest as the subject's digest), with a predicate type chosen by `--type` as cosign
 * names them, or given as a URI.
 */
import { readBounded } from '../policy/load.js';
import { TrustError } from '../errors.js';

/** The predicate type of cosign's (and moat's) image signature statements. */
export const SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** cosign attest's `--type` names and the predicate types they stand for. */
export const PREDICATE_TYPES: Record<string, string> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};

/** The largest predicate file `moat attest` reads. */
export const MAX_PREDICATE_FILE_BYTES = 4 << 20;

/** `--type`: a known name, or a predicate type URI of its own. */
export function predicateTypeOf(type: string): string {
  const known = PREDICATE_TYPES[type.toLowerCase()];
  if (known) return known;
  if (/^https?:\/\/[^\s]+$/.test(type)) return type;
  throw new TrustError(
    'TRUST_SIGN_FAILED',
    `unknown attestation type ${JSON.stringify(type)}: use one of ${Object.keys(PREDICATE_TYPES).join(', ')}, or a predicate type URI`,
    { hint: 'moat attest --type slsaprovenance1 --predicate provenance.json REF' },
  );
}

/**
 * Reads a predicate file: JSON; for `custom` anything else is wrapped as cosign wraps it
 * (`{data, timestamp}`).
 */
export function readPredicate(file: string, predicateType: string): unknown {
  let bytes: Buffer | undefined;
  try {
    bytes = readBounded(file, MAX_PREDICATE_FILE_BYTES);
  } catch (e) {
    throw new TrustError('TRUST_SIGN_FAILED', `predicate ${file}: ${(e as Error).message}`);
  }
  if (!bytes) throw new TrustError('TRUST_SIGN_FAILED', `predicate ${file}: no such file`);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (predicateType === PREDICATE_TYPES.custom) return { data: text, timestamp: new Date().toISOString() };
    throw new TrustError('TRUST_SIGN_FAILED', `predicate ${file}: not valid JSON`);
  }
}

/** The statement's bytes: `subject` names the image by repository and manifest digest. */
export function makeStatement(
  repository: string,
  digest: string,
  predicateType: string,
  predicate: unknown,
): Buffer {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new TrustError('TRUST_SIGN_FAILED', `${JSON.stringify(digest)} is not a sha256 digest`);
  return Buffer.from(
    JSON.stringify({
      _type: STATEMENT_TYPE,
      subject: [{ name: repository, digest: { sha256: m[1] } }],
      predicateType,
      predicate: predicate ?? {},
    }),
  );
}

/** The statement `moat sign --bundle` signs: cosign's signature statement, an empty predicate. */
export const signatureStatement = (repository: string, digest: string) =>
  makeStatement(repository, digest, SIGN_PREDICATE_TYPE, {});
