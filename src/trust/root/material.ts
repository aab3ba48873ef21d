/**
 * A trusted root as `@sigstore/verify` takes it (its `TrustMaterial`), optionally with the public
 * keys `--key` or a policy's `keyPath` name. A key given by the user is the key: the bundle's key
 * hint is not used to pick it (cosign does the same), and it has no validity period.
 */
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { VerificationError } from '@sigstore/verify';
import type { PublicKey } from '../key/public-key.js';
import type { TrustRoot } from './load.js';

export function trustMaterial(root: TrustRoot, keys: PublicKey[] = []): TrustMaterial {
  return toTrustMaterial(root.root, (hint: string) => {
    // One key: that key, whatever the hint says. Several: the hint (the key's id) picks one.
    const key = keys.length === 1 ? keys[0] : keys.find((k) => k.id === hint || k.id.endsWith(`:${hint}`));
    if (!key)
      throw new VerificationError({
        code: 'PUBLIC_KEY_ERROR',
        message: keys.length
          ? `no trusted key matches the bundle's key hint ${JSON.stringify(hint)}`
          : 'no key is trusted',
      });
    return { publicKey: key.key, validFor: () => true };
  });
}
