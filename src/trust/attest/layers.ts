/**
 * A `cosign attest` layer (`.att`) as the sigstore bundle(s) it is equivalent to, so that it is
 * verified exactly as a bundle attached as a referrer is: one DSSE bundle per signature in the
 * envelope, its verification material from the layer's annotations — the certificate (keyless)
 * or the key hint (key), and the transparency-log entry from the SET annotation (a v0.1 bundle
 * with an inclusion promise); with no SET, a v0.3 bundle with no log entry (which only a key
 * requirement without Rekor keys accepts).
 */
import { BUNDLE_V01_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE } from '@sigstore/bundle';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, type SignatureLayer } from '../cosign/verify.js';
import { tlogEntryFromSet } from '../keyless/cosign.js';
import { parsePemCertificates } from '../root/index.js';
import { parseEnvelope } from './envelope.js';

/**
 * The bundles (JSON bytes) a `.att` layer stands for. `useSet`: put the layer's transparency-log
 * entry in (false for a key requirement that names no Rekor key: the log is not consulted, as
 * for `.sig` signatures). Throws an Error saying what is malformed.
 */
export function attLayerToBundles(layer: SignatureLayer, useSet: boolean): Buffer[] {
  const env = parseEnvelope(layer.payload);
  const certPem = layer.annotations[ANNOTATION_CERTIFICATE];
  let cert: string | undefined;
  if (certPem) {
    const certs = parsePemCertificates(certPem, 'the signing certificate');
    if (certs.length !== 1) throw new Error('the certificate annotation holds more than one certificate');
    cert = certs[0].raw.toString('base64');
  }
  const set = layer.annotations[ANNOTATION_BUNDLE];
  // A certificate needs its log entry for a signing time; a key uses it only when asked to.
  const entry = set && (cert || useSet) ? tlogEntryFromSet(set) : undefined;
  return env.signatures.map((s) => {
    const key = cert
      ? entry
        ? { x509CertificateChain: { certificates: [{ rawBytes: cert }] } }
        : { certificate: { rawBytes: cert } }
      : { publicKey: { hint: s.keyid } };
    return Buffer.from(
      JSON.stringify({
        mediaType: entry ? BUNDLE_V01_MEDIA_TYPE : BUNDLE_V03_MEDIA_TYPE,
        verificationMaterial: {
          ...key,
          tlogEntries: entry ? [entry] : [],
          timestampVerificationData: { rfc3161Timestamps: [] },
        },
        dsseEnvelope: {
          payload: env.payload.toString('base64'),
          payloadType: env.payloadType,
          signatures: [{ sig: s.sig.toString('base64'), keyid: s.keyid }],
        },
      }),
    );
  });
}
