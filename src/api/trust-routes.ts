/**
 * Image trust routes: verify an image against the trust policy (and record the result with the
 * stored image), sign one (a cosign signature, or a sigstore bundle referrer), attest one, show which scope of the trust policy applies, generate a key pair.
 * The trust policy is the moat instance's own; key files are host paths (facts.host_paths), so
 * remote subjects cannot name them under the default policy.
 */
import type { Engine } from '../runtime/engine.js';
import type { ImageRecord } from '../image/types.js';
import { hostPath } from './host-facts.js';
import { defineRoute, type AnyRoute, type RouteContext } from './router.js';
import * as S from './schemas-trust.js';

type Ctx<B> = RouteContext<B>;

interface VerifyBody {
  reference: string;
  tlsVerify?: boolean;
}
interface SignBody extends VerifyBody {
  key: string;
  password?: string;
  annotations?: Record<string, string>;
  bundle: boolean;
}
interface AttestBody extends VerifyBody {
  key: string;
  password?: string;
  predicate: string;
  type: string;
}

const trust = () => import('../trust/image.js');
const policies = () => import('../trust/policy/index.js');

/** Does the stored image `rec` hold the manifest that was verified as `name@digest`? */
function holds(rec: ImageRecord, name: string, digest: string): boolean {
  const repo = name.replace(/[:@][^/]*$/, '');
  return rec.manifestDigest === digest || (rec.repoDigests ?? []).includes(`${repo}@${digest}`);
}

/**
 * What the trust policy in force says of an image just signed or attested, pinned to the digest
 * that was signed; the caller records it, so runs read the new signature or attestation.
 */
async function reverify(
  done: { reference: string; digest: string },
  tlsVerify: boolean | undefined,
): Promise<import('../trust/verify.js').TrustResult> {
  const { verifyRemote } = await trust();
  const policy = (await policies()).loadTrustPolicy();
  return verifyRemote(policy, done.reference, { tlsVerify, digest: done.digest });
}

export function trustRoutes(engine: Engine): AnyRoute[] {
  const store = () => engine.deps.images;
  /** Records a verification with the stored image it is about (if it is stored). */
  const record = async (r: import('../trust/verify.js').TrustResult): Promise<boolean> => {
    if (!r.digest) return false;
    let rec: ImageRecord;
    try {
      rec = await store().resolve(r.reference);
    } catch {
      try {
        rec = await store().resolve(`${r.reference.replace(/:[^/:@]+$/, '')}@${r.digest}`);
      } catch {
        return false;
      }
    }
    if (!holds(rec, r.reference, r.digest)) return false;
    const { TrustRecords } = await import('../trust/record.js');
    await new TrustRecords(store().root).put(rec.manifestDigest, r);
    return true;
  };
  return [
    defineRoute({
      method: 'POST',
      path: '/images/verify',
      action: 'image.verify',
      body: S.verifyBody,
      facts: async (ctx: Ctx<VerifyBody>) => ({ target: { reference: ctx.body.reference } }),
      handler: async (ctx: Ctx<VerifyBody>) => {
        const { verifyRemote } = await trust();
        const policy = (await policies()).loadTrustPolicy();
        const r = await verifyRemote(policy, ctx.body.reference, { tlsVerify: ctx.body.tlsVerify });
        return { ...r, recorded: await record(r) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/sign',
      action: 'image.sign',
      body: S.signBody,
      facts: async (ctx: Ctx<SignBody>) => ({
        target: { reference: ctx.body.reference },
        host_paths: [hostPath(ctx.body.key, 'read')],
      }),
      handler: async (ctx: Ctx<SignBody>) => {
        const { signRemote } = await trust();
        const signed = await signRemote(ctx.body.reference, {
          key: ctx.body.key,
          password: ctx.body.password,
          annotations: ctx.body.annotations,
          bundle: ctx.body.bundle,
          tlsVerify: ctx.body.tlsVerify,
        });
        const r = await reverify(signed, ctx.body.tlsVerify);
        return {
          ...signed,
          trust: { accepted: r.accepted, verified: r.verified, error: r.error, recorded: await record(r) },
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/attest',
      action: 'image.attest',
      body: S.attestBody,
      facts: async (ctx: Ctx<AttestBody>) => ({
        target: { reference: ctx.body.reference },
        host_paths: [hostPath(ctx.body.key, 'read'), hostPath(ctx.body.predicate, 'read')],
      }),
      handler: async (ctx: Ctx<AttestBody>) => {
        const { attestRemote } = await trust();
        const attested = await attestRemote(ctx.body.reference, {
          key: ctx.body.key,
          password: ctx.body.password,
          predicate: ctx.body.predicate,
          type: ctx.body.type,
          tlsVerify: ctx.body.tlsVerify,
        });
        const r = await reverify(attested, ctx.body.tlsVerify);
        return {
          ...attested,
          trust: {
            accepted: r.accepted,
            verified: r.verified,
            attestations: r.attestations.length,
            error: r.error,
            recorded: await record(r),
          },
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/trust/show',
      action: 'trust.show',
      body: S.trustShowBody,
      handler: async (ctx: Ctx<{ reference: string }>) => {
        const p = await policies();
        const policy = p.loadTrustPolicy();
        const { parseReference } = await import('../image/reference.js');
        const { resolveTarget, loadRegistriesConfig } = await import('../image/registry/index.js');
        const t = resolveTarget(ctx.body.reference, await loadRegistriesConfig());
        const name = `${t.registry}/${t.repository}${t.tag ? `:${t.tag}` : `@${t.digest!}`}`;
        const m = p.lookup(policy, parseReference(name));
        return {
          reference: name,
          policy: policy.source,
          policyDigest: policy.digest,
          transport: m.transport,
          ...(m.scope !== undefined ? { scope: m.scope } : {}),
          kind: m.kind,
          requirements: m.requirements,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/keys/generate',
      action: 'key.generate',
      body: S.keyGenerateBody,
      facts: async (ctx: Ctx<{ prefix: string }>) => ({
        host_paths: [
          hostPath(`${ctx.body.prefix}.key`, 'write'),
          hostPath(`${ctx.body.prefix}.pub`, 'write'),
        ],
      }),
      handler: async (ctx: Ctx<{ prefix: string; password?: string }>) => {
        const { generateKeys } = await import('../trust/sign/keys.js');
        return generateKeys(ctx.body.prefix, ctx.body.password || undefined);
      },
    }),
  ];
}
