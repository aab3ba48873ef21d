/**
 * The evidence that needs @sigstore/verify: keyless cosign signatures (certificates to a Fulcio
 * CA), sigstore bundles, and the trusted roots they are checked against. Loaded on demand by
 * verify.ts (see the note there); nothing else imports it statically.
 */
import { createPublicKey } from 'node:crypto';
import { TrustError } from './errors.js';
import type { SignatureOutcome } from './cosign/verify.js';
import { decodeBase64, parsePublicKey, type PublicKey } from './key/public-key.js';
import { checkKeylessSignature } from './keyless/cosign.js';
import { verifyBundleForImage, type BundleOutcome, type SignerRequirement } from './bundle/index.js';
import {
  loadTrustedRoot,
  parsePemCertificates,
  publicGoodRoot,
  rootFromPolicy,
  type TrustRoot,
} from './root/index.js';
import { readBounded } from './policy/load.js';
import type { KeySource, SigstoreSigned } from './policy/types.js';

export { checkKeylessSignature };

/** The Fulcio CA certificates a policy names (a PEM file next to it, or base64 of the PEM). */
function loadCa(src: KeySource) {
  if ('path' in src) {
    let bytes: Buffer | undefined;
    try {
      bytes = readBounded(src.path, 1 << 20);
    } catch (e) {
      throw new TrustError('TRUST_KEY_INVALID', `fulcio CA ${src.path}: ${(e as Error).message}`);
    }
    if (!bytes) throw new TrustError('TRUST_KEY_INVALID', `fulcio CA ${src.path}: no such file`);
    return parsePemCertificates(bytes, `fulcio CA ${src.path}`);
  }
  let pem: Buffer;
  try {
    pem = decodeBase64(src.data, 'fulcio caData', 1 << 20);
  } catch {
    throw new TrustError('TRUST_KEY_INVALID', 'fulcio caData: not valid base64 of PEM certificates');
  }
  return parsePemCertificates(pem, 'fulcio caData');
}

/** The Rekor keys of a trusted root, as the key path's SET check takes them. */
export function rekorKeysOf(root: TrustRoot): PublicKey[] {
  return root.root.tlogs.flatMap((t) => {
    if (!t.publicKey?.rawBytes) return [];
    try {
      const k = createPublicKey({ key: Buffer.from(t.publicKey.rawBytes), format: 'der', type: 'spki' });
      return [parsePublicKey(k.export({ type: 'spki', format: 'pem' }), `trusted root ${root.source} log`)];
    } catch {
      return [];
    }
  });
}

/**
 * The trusted root a requirement stands for: its `trustedRoot` file; else one built from its
 * Fulcio CA and Rekor keys, where what the policy leaves out (the Rekor keys, for keyless) comes
 * from the public-good root shipped offline; else (keys, no Rekor keys) the public-good root, so
 * that a key-signed bundle's log entry can be checked.
 */
export function rootFor(req: SigstoreSigned, rekorKeys: PublicKey[]): TrustRoot {
  if (req.trustedRoot) return loadTrustedRoot(req.trustedRoot);
  if (req.fulcio)
    return rootFromPolicy({
      cas: loadCa(req.fulcio.ca),
      ...(rekorKeys.length ? { rekorKeys } : {}),
      fallback: publicGoodRoot(),
    });
  if (rekorKeys.length) return rootFromPolicy({ rekorKeys });
  return publicGoodRoot();
}

function fromBundle(o: BundleOutcome): SignatureOutcome {
  return {
    ok: o.ok,
    layer: o.bundle,
    kind: 'bundle',
    stage: o.stage,
    ...(o.code ? { code: o.code } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.keyId ? { keyId: o.keyId } : {}),
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
    ...(o.tlog ? { tlog: o.tlog } : {}),
  };
}

/** The Rekor keys of a trusted_root.json file, for the key path's SET check. */
export function trustedRootRekorKeys(file: string): PublicKey[] {
  return rekorKeysOf(loadTrustedRoot(file));
}

/** One bundle attached to the image, checked for `digest` and the requirement's signer. */
export function checkBundle(
  bundle: Buffer,
  digest: string,
  signer: SignerRequirement,
  root: TrustRoot,
): SignatureOutcome {
  return fromBundle(verifyBundleForImage(bundle, digest, signer, root));
}
