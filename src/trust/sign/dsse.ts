/**
 * Signing an in-toto statement with a key, offline: a DSSE envelope (the signature over
 * PAE(payloadType, statement)) for cosign's `.att` layers, and the same signature as a sigstore
 * bundle v0.3 (DSSE content, the key's id as its hint, no transparency-log entry: there is no
 * network, and a key requirement without Rekor keys is what accepts it) for referrers.
 */
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { INTOTO_PAYLOAD_TYPE } from '../bundle/intoto.js';
import { envelopeJson, pae } from '../attest/envelope.js';
import { signData, type SigningKey } from './keys.js';

/** The hint a bundle carries for the key: the hex of its id (what trust policies match it by). */
export const keyHint = (k: SigningKey) => k.pub.id.replace(/^sha256:/, '');

/** A DSSE envelope (JSON bytes) with one signature of `statement` by `key`. */
export function signEnvelope(key: SigningKey, statement: Buffer): Buffer {
  const sig = signData(key, pae(INTOTO_PAYLOAD_TYPE, statement));
  return envelopeJson({
    payloadType: INTOTO_PAYLOAD_TYPE,
    payload: statement,
    signatures: [{ keyid: '', sig }],
  });
}

/** A sigstore bundle v0.3 (JSON bytes): `statement` in a DSSE envelope signed by `key`. */
export function signBundle(key: SigningKey, statement: Buffer): Buffer {
  const signature = signData(key, pae(INTOTO_PAYLOAD_TYPE, statement));
  const bundle = toDSSEBundle({
    artifact: statement,
    artifactType: INTOTO_PAYLOAD_TYPE,
    signature,
    keyHint: keyHint(key),
  });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}
