/**
 * Registry routes: pull, push, login, logout, and the store's save and fsck (prune is in
 * image-routes.ts). Each is one route of the one router (schema-checked body, facts, policy
 * decision, then the handler).
 *
 * Progress: a caller whose `io` also has `transfer` (the CLI, in-process) gets structured
 * transfer events (per-blob bytes, for a live display); any other caller gets plain lines on
 * `io.progress`.
 */
import type { Engine } from '../runtime/engine.js';
import { ImageError, isImageError } from '../image/errors.js';
import { parseReference } from '../image/reference.js';
import { hostPath } from './host-facts.js';
import { imageFacts } from './image-facts.js';
import { defineRoute, type AnyRoute, type RouteContext, type ApiRequest, type RequestIo } from './router.js';
import * as S from './schemas.js';
import { beforeRunFacts, beforeScanFacts } from './before-run.js';
import type { RegistriesConfig } from '../image/registry/config.js';
import type { TrustResult } from '../trust/verify.js';

/** What the CLI may add to RequestIo for live transfer displays. */
export interface TransferIo extends RequestIo {
  transfer?: (e: import('../image/registry/progress.js').TransferEvent) => void;
}

type Ctx<B> = RouteContext<B>;

async function registry() {
  // Loaded on demand: undici and the registry code are not needed to run a local container.
  return import('../image/registry/index.js');
}

async function transferFn(ctx: Ctx<unknown>) {
  const io = ctx.req.io as TransferIo | undefined;
  if (io?.transfer) return io.transfer;
  if (!io?.progress) return undefined;
  const { TransferView } = await registry();
  const view = new TransferView();
  const p = io.progress;
  return (e: import('../image/registry/progress.js').TransferEvent) => {
    const line = view.apply(e);
    if (line) p(line);
  };
}

interface PullBody {
  reference: string;
  platform?: string;
  tlsVerify?: boolean;
  /** Unpack the image's root during the download (default true), as `podman pull` does. */
  unpack?: boolean;
}
interface PushBody {
  destination?: string;
  tlsVerify?: boolean;
  chunkSize?: number;
}
interface LoginBody {
  registry: string;
  username: string;
  password: string;
  tlsVerify?: boolean;
}

/** What `moat pull` reports of the trust decision. */
function trustSummary(t: TrustResult) {
  return {
    verified: t.verified,
    policy: t.policy.source,
    ...(t.scope.scope !== undefined ? { scope: t.scope.scope } : {}),
    signatures: t.signatures.length,
  };
}

/**
 * The trust decision of a pull, made before any layer is fetched: TRUST_* when the trust policy
 * rejects the image; else the reference to pull, pinned to the verified manifest digest. With
 * the built-in default (no trust policy anywhere) a notice says that nothing is verified.
 */
async function verifyBeforePull(
  ctx: Ctx<PullBody>,
  cfg: RegistriesConfig,
): Promise<{ pinned: string; result?: TrustResult }> {
  const { loadTrustPolicy, BUILTIN } = await import('../trust/policy/index.js');
  const { verifyRemote } = await import('../trust/image.js');
  const { assertAccepted } = await import('../trust/verify.js');
  const policy = loadTrustPolicy();
  if (policy.source === BUILTIN)
    ctx.req.io?.progress?.(
      'notice: no trust policy (~/.config/moat/policy.json, /etc/containers/policy.json): image signatures are not verified',
    );
  const result = await verifyRemote(policy, ctx.body.reference, { cfg, tlsVerify: ctx.body.tlsVerify });
  assertAccepted(result);
  if (!result.digest || ctx.body.reference.includes('@')) return { pinned: ctx.body.reference, result };
  return { pinned: `${result.reference}@${result.digest}`, result };
}

export function registryRoutes(engine: Engine): AnyRoute[] {
  const store = () => engine.deps.images;
  const targetFacts = async (ref: string) => {
    const r = await registry();
    const t = r.resolveTarget(ref, await r.loadRegistriesConfig());
    // `reference`: the canonical name the policy's blocklist is matched against.
    const name = `${t.registry}/${t.repository}`;
    return {
      registry: t.registry,
      repository: t.repository,
      tag: t.tag,
      digest: t.digest,
      reference: t.digest ? `${name}@${t.digest}` : `${name}:${t.tag ?? 'latest'}`,
    };
  };
  return [
    defineRoute({
      method: 'POST',
      path: '/images/pull',
      action: 'image.pull',
      body: S.pullBody,
      facts: async (ctx: Ctx<PullBody>) => ({ target: await targetFacts(ctx.body.reference) }),
      handler: async (ctx: Ctx<PullBody>) => {
        const r = await registry();
        const onEvent = await transferFn(ctx);
        const cfg = await r.loadRegistriesConfig();
        // Trust first, from the manifest and its signatures alone: a rejected image is not pulled.
        const verdict = await verifyBeforePull(ctx, cfg);
        const live = ctx.body.unpack === false ? undefined : engine.liveUnpacker();
        const res = await r
          .pull({
            store: store(),
            cfg,
            // pinned to the digest that was verified (a tag moved since is not pulled instead)
            reference: verdict.pinned,
            platform: ctx.body.platform,
            tlsVerify: ctx.body.tlsVerify,
            onEvent,
            unpack: live
              ? (id, layers, verified) =>
                  live.unpack(
                    id,
                    layers,
                    verified,
                    () =>
                      onEvent?.({
                        kind: 'status',
                        message: `unpacking ${id.slice(7, 19)} while downloading`,
                      }),
                    (why) => onEvent?.({ kind: 'status', message: `not unpacking the image: ${why}` }),
                  )
              : undefined,
          })
          .finally(() => live?.dispose());
        if (verdict.result?.digest) {
          const { TrustRecords } = await import('../trust/record.js');
          await new TrustRecords(store().root).put(res.manifestDigest, verdict.result);
        }
        return {
          ...(verdict.result ? { trust: trustSummary(verdict.result) } : {}),
          reference: res.reference,
          name: res.name,
          digest: res.digest,
          manifestDigest: res.manifestDigest,
          platform: res.platform ?? res.configPlatform,
          id: res.id,
          fetched: res.fetched,
          fetchedBytes: res.fetchedBytes,
          ...(res.unpacked !== undefined ? { unpacked: res.unpacked } : {}),
          mediaType: res.mediaType,
          blobs: res.blobs,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/:ref/push',
      action: 'image.push',
      body: S.pushBody,
      facts: async (ctx: Ctx<PushBody>) => {
        const rec = await store().resolve(ctx.params.ref);
        return {
          // manifestDigest: the name these facts had before image facts were shared (image-facts.ts).
          image: { ...imageFacts(rec, ctx.params.ref), manifestDigest: rec.manifestDigest },
          ...(ctx.body.destination ? { target: await targetFacts(ctx.body.destination) } : {}),
        };
      },
      handler: async (ctx: Ctx<PushBody>) => {
        const r = await registry();
        return r.push({
          store: store(),
          cfg: await r.loadRegistriesConfig(),
          source: ctx.params.ref,
          destination: ctx.body.destination,
          tlsVerify: ctx.body.tlsVerify,
          chunkSize: ctx.body.chunkSize,
          onEvent: await transferFn(ctx),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/registries/login',
      action: 'registry.login',
      body: S.loginBody,
      facts: async (ctx: Ctx<LoginBody>) => ({ registry: ctx.body.registry, username: ctx.body.username }),
      handler: async (ctx: Ctx<LoginBody>) => {
        const r = await registry();
        const cfg = await r.loadRegistriesConfig();
        const host = r.normalizeAuthKey(ctx.body.registry);
        const credentials = { username: ctx.body.username, password: ctx.body.password };
        const client = new r.RegistryClient({
          cfg,
          target: {
            registry: host,
            endpoint: host === 'docker.io' ? 'registry-1.docker.io' : host,
            repository: 'library/moat-login',
          },
          actions: [],
          tlsVerify: ctx.body.tlsVerify,
          credentials,
        });
        await client.verifyLogin();
        const stored = await r.storeCredentials(cfg.authFile, host, credentials);
        return {
          registry: host,
          authFile: cfg.authFile,
          ...(stored.helper ? { helper: `docker-credential-${stored.helper}` } : {}),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/registries/logout',
      action: 'registry.logout',
      body: S.logoutBody,
      handler: async (ctx) => {
        const r = await registry();
        const cfg = await r.loadRegistriesConfig();
        if (ctx.body.all)
          return { removed: await r.removeAllCredentials(cfg.authFile), authFile: cfg.authFile };
        if (!ctx.body.registry)
          throw new ImageError('IMAGE_INVALID_REFERENCE', 'logout needs a registry, or --all');
        const host = r.normalizeAuthKey(ctx.body.registry);
        if (!(await r.removeCredentials(cfg.authFile, host))) {
          throw new r.RegistryError(
            'REGISTRY_LOGIN_NOT_FOUND',
            `not logged in to ${host} (in ${cfg.authFile})`,
            { hint: 'credentials in ~/.docker/config.json are read but never changed by moat' },
          );
        }
        return { removed: [host], authFile: cfg.authFile };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/save',
      action: 'image.save',
      body: S.saveBody,
      facts: async (ctx) => ({ host_paths: [hostPath(ctx.body.file, 'write')] }),
      handler: async (ctx) => {
        const { save } = await import('../image/registry/save.js');
        return save(store(), ctx.body.images, ctx.body.file, ctx.body.format ?? 'oci-archive');
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/images/fsck',
      action: 'image.fsck',
      body: S.fsckBody,
      handler: async (ctx) => {
        const res = await store().fsck({ repair: Boolean(ctx.body.repair) });
        return {
          ...res,
          clean: res.corrupt.length === 0 && res.missing.length === 0 && res.strays.length === 0,
        };
      },
    }),
  ];
}

/**
 * `moat run REF` / `moat create REF` pull a missing image first — through the router, as an
 * `image.pull` request of the same subject, so the policy decides that pull like any other (and
 * the pull verifies it under the trust policy before any layer is fetched). `image.scan` (moat
 * scan, moat sbom) does the same, without unpacking: the scanner reads the stored layers.
 * Only references a registry can serve are pulled (a registry host, or a short name when a
 * default registry is configured); anything else keeps IMAGE_NOT_FOUND — run and create throw it
 * from their facts as before, image.scan's handler after the decision (its facts reveal nothing).
 */
export function withPullOnMissing(
  routes: AnyRoute[],
  handle: (req: ApiRequest) => Promise<unknown>,
  engine: Engine,
): AnyRoute[] {
  /** Pulls `image` if the store lacks it; the name to use instead when `image` still does not resolve. */
  const pullMissing = async (ctx: RouteContext, image: string, unpack: boolean) => {
    try {
      await engine.deps.images.resolve(image);
      return undefined;
    } catch (e) {
      if (!isImageError(e) || e.code !== 'IMAGE_NOT_FOUND' || !(await pullable(image))) throw e;
    }
    const res = (await handle({
      subject: ctx.req.subject,
      method: 'POST',
      path: '/images/pull',
      body: { reference: image, ...(unpack ? {} : { unpack: false }) },
      io: ctx.req.io,
    })) as { name?: string; id: string };
    // A short name pulled from a default registry other than Docker Hub is stored under
    // that registry's name, which the short name does not resolve to locally.
    const found = await engine.deps.images.resolve(image).then(
      () => true,
      () => false,
    );
    return found ? undefined : (res.name ?? res.id);
  };
  const runs = beforeRunFacts(routes, async (ctx) => {
    const name = await pullMissing(ctx, ctx.body.options.image, true);
    if (name) ctx.body.options.image = name;
  });
  return beforeScanFacts(runs, async (ctx) => {
    const name = await pullMissing(ctx, ctx.params.ref, false).catch((e: unknown) => {
      if (isImageError(e) && e.code === 'IMAGE_NOT_FOUND') return undefined;
      throw e;
    });
    if (name) ctx.params.ref = name;
  });
}

async function pullable(image: string): Promise<boolean> {
  if (/^(sha256:)?[a-f0-9]{3,64}$/.test(image)) return false;
  let ref;
  try {
    ref = parseReference(image);
  } catch {
    return false;
  }
  if (ref.host) return ref.host !== 'localhost';
  const r = await registry();
  return Boolean((await r.loadRegistriesConfig()).defaultRegistry);
}
